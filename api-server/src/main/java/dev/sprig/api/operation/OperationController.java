package dev.sprig.api.operation;

import io.swagger.v3.oas.annotations.tags.Tag;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;

@RestController
@Tag(
        name = "operations",
        description = "Long-running work (flatten, image import) and its progress; poll until it has finished")
class OperationController {

    private final Operations operations;

    OperationController(Operations operations) {
        this.operations = operations;
    }

    @GetMapping("/v1/operations/{id}")
    @io.swagger.v3.oas.annotations.Operation(
            summary = "An operation: its state and progress",
            description = "Poll it after a 202: state goes from running to succeeded or failed (with an error),"
                    + " and done counts up to total in the given unit.")
    OperationView getOperation(@PathVariable String id) {
        return OperationView.of(operations.get(id));
    }
}
