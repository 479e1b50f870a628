package dev.sprig.api.console;

import dev.sprig.api.operation.Operation;
import dev.sprig.api.operation.OperationRunner;
import dev.sprig.api.operation.OperationView;
import dev.sprig.api.operation.Operations;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.servlet.mvc.support.RedirectAttributes;

/**
 * Operations, newest first, and one operation's page. A running one's progress is a fragment that
 * htmx fetches again every second; the fragment of a finished one no longer asks, so the polling
 * stops by itself.
 */
@Controller
class OperationPages {

    private final Operations operations;
    private final OperationRunner runner;
    private final Actions actions;

    OperationPages(Operations operations, OperationRunner runner, Actions actions) {
        this.operations = operations;
        this.runner = runner;
        this.actions = actions;
    }

    @GetMapping("/console/operations")
    String list(
            @RequestParam(required = false) @Nullable String state,
            @RequestParam(required = false) @Nullable String kind,
            @RequestParam(required = false) @Nullable String targetId,
            @RequestParam(required = false) @Nullable String pageToken,
            Model model) {
        var page = operations.page(
                Listing.given(kind),
                Listing.given(state),
                Listing.given(targetId),
                Listing.given(pageToken),
                Listing.PAGE_SIZE);
        model.addAttribute(
                "operations", page.items().stream().map(OperationView::of).toList());
        model.addAttribute("nextPageToken", page.nextPageToken());
        model.addAttribute("state", Listing.given(state));
        model.addAttribute("kind", Listing.given(kind));
        model.addAttribute("targetId", Listing.given(targetId));
        model.addAttribute(
                "kinds",
                Arrays.stream(Operation.Kind.values())
                        .map(Operation.Kind::column)
                        .toList());
        model.addAttribute(
                "states",
                Arrays.stream(Operation.State.values())
                        .map(Operation.State::column)
                        .toList());
        return "console/operations";
    }

    @GetMapping("/console/operations/{id}")
    String operation(@PathVariable String id, Model model) {
        model.addAttribute("operation", OperationView.of(operations.get(id)));
        return "console/operation";
    }

    /** The progress fragment, alone: what htmx swaps in while the operation runs. */
    @GetMapping("/console/operations/{id}/progress")
    String progress(@PathVariable String id, Model model) {
        model.addAttribute("operation", OperationView.of(operations.get(id)));
        return "console/fragments :: progress";
    }

    @PostMapping("/console/operations/{id}/cancel")
    String cancel(@PathVariable String id, RedirectAttributes flash) {
        return actions.run(flash, Actions.path("/console/operations/{id}", id), () -> {
            runner.cancel(id);
            return new Actions.Outcome(Actions.path("/console/operations/{id}", id), "Cancelled.");
        });
    }
}
