package dev.sprig.api.console;

import dev.sprig.api.error.SprigException;
import dev.sprig.api.web.ProblemStatuses;
import dev.sprig.api.web.Problems;
import jakarta.servlet.http.HttpServletResponse;
import org.jspecify.annotations.Nullable;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.security.core.Authentication;
import org.springframework.ui.Model;
import org.springframework.web.bind.MissingServletRequestParameterException;
import org.springframework.web.bind.annotation.ControllerAdvice;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.ModelAttribute;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;

/**
 * What every console page knows (who signed in, whether they may take admin actions), and a page,
 * not problem+json, for what a console page cannot show: the API's status and words, in HTML.
 */
@ControllerAdvice(basePackageClasses = ConsoleAdvice.class)
@Order(Ordered.HIGHEST_PRECEDENCE)
class ConsoleAdvice {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ConsoleAdvice.class);

    @ModelAttribute
    void signedIn(@Nullable Authentication who, Model model) {
        model.addAttribute("admin", who != null && Actions.isAdmin(who));
        model.addAttribute("principal", who == null ? null : who.getName());
    }

    @ExceptionHandler(SprigException.class)
    String refused(SprigException failure, HttpServletResponse response, Model model) {
        response.setStatus(ProblemStatuses.of(failure).value());
        model.addAttribute("notice", Notice.refused(failure));
        return "console/error";
    }

    /** What nothing above maps: logged with its stack trace, and a page that says so (not problem+json). */
    @ExceptionHandler(Exception.class)
    String unexpected(Exception failure, HttpServletResponse response, Model model) {
        log.error("A console page failed unexpectedly", failure);
        response.setStatus(500);
        model.addAttribute(
                "notice",
                new Notice(
                        true,
                        "an internal error occurred; it has been logged",
                        500,
                        Problems.codeFor(org.springframework.http.HttpStatus.INTERNAL_SERVER_ERROR)));
        return "console/error";
    }

    @ExceptionHandler({MethodArgumentTypeMismatchException.class, MissingServletRequestParameterException.class})
    String badInput(Exception failure, HttpServletResponse response, Model model) {
        response.setStatus(400);
        model.addAttribute(
                "notice",
                new Notice(
                        true,
                        failure.getMessage(),
                        400,
                        Problems.codeFor(org.springframework.http.HttpStatus.BAD_REQUEST)));
        return "console/error";
    }
}
