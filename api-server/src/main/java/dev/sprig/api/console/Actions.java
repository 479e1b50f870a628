package dev.sprig.api.console;

import dev.sprig.api.error.SprigException;
import dev.sprig.api.web.ApiKeys;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.springframework.security.core.Authentication;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.support.RedirectAttributes;
import org.springframework.web.util.UriComponentsBuilder;

/**
 * Runs what a console form asks for and answers with a redirect (post, redirect, get: a reload never
 * repeats an action), carrying a {@link Notice} to the next page: where the action leads when it is
 * done, back to the form's page with the API's refusal when it is not.
 */
@Component
class Actions {

    /** Where a done action leads, and what to say there. */
    record Outcome(String location, String notice) {}

    String run(RedirectAttributes flash, String back, Supplier<Outcome> action) {
        try {
            Outcome outcome = action.get();
            flash.addFlashAttribute("notice", Notice.done(outcome.notice()));
            return "redirect:" + outcome.location();
        } catch (SprigException refused) {
            flash.addFlashAttribute("notice", Notice.refused(refused));
            return "redirect:" + back;
        }
    }

    /** As {@link #run}, for what the API keeps to admin keys; refused on the page for other keys. */
    String asAdmin(Authentication who, RedirectAttributes flash, String back, Supplier<Outcome> action) {
        if (!isAdmin(who)) {
            flash.addFlashAttribute("notice", Notice.notAnAdmin());
            return "redirect:" + back;
        }
        return run(flash, back, action);
    }

    static boolean isAdmin(@Nullable Authentication who) {
        return ApiKeys.has(who, ApiKeys.ADMIN);
    }

    /**
     * A console path with {@code ids} put in for its {@code {…}} variables, encoded: a redirect never
     * reads a character of an id as part of the path's syntax.
     */
    static String path(String template, String... ids) {
        return UriComponentsBuilder.fromPath(template)
                .buildAndExpand((Object[]) ids)
                .encode()
                .toUriString();
    }
}
