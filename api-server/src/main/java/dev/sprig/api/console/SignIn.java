package dev.sprig.api.console;

import dev.sprig.api.web.ApiKeys;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.http.HttpStatus;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContext;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.web.context.SecurityContextRepository;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;

/** Signing in to the console with an API key: the same keys as the API, admin keys with their admin actions. */
@Controller
// the console's session store comes with its security chain, which only a servlet web server has
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
class SignIn {

    private final ApiKeys keys;
    private final SecurityContextRepository sessions;

    SignIn(ApiKeys keys, SecurityContextRepository consoleSessions) {
        this.keys = keys;
        this.sessions = consoleSessions;
    }

    @GetMapping(ConsoleSecurity.SIGN_IN)
    String page(@RequestParam(required = false) @Nullable String signedOut, Model model) {
        model.addAttribute("signedOut", signedOut != null);
        return "console/sign-in";
    }

    @PostMapping(ConsoleSecurity.SIGN_IN)
    String signIn(
            @RequestParam(defaultValue = "") String key,
            HttpServletRequest request,
            HttpServletResponse response,
            Model model) {
        Authentication signedIn = keys.authenticate(key.strip()).orElse(null);
        if (!ApiKeys.has(signedIn, ApiKeys.CLIENT)) {
            response.setStatus(HttpStatus.UNAUTHORIZED.value());
            model.addAttribute(
                    "refused",
                    key.isBlank()
                            ? "Enter an API key."
                            : signedIn == null
                                    ? "That API key is not valid."
                                    : "A metrics key reads /actuator/prometheus only: sign in with an API key.");
            model.addAttribute("signedOut", false);
            return "console/sign-in";
        }
        // a new session, so that one planted before sign-in (and its CSRF token) is worth nothing after
        HttpSession before = request.getSession(false);
        if (before != null) {
            before.invalidate();
        }
        request.getSession(true);
        SecurityContext context = SecurityContextHolder.createEmptyContext();
        context.setAuthentication(signedIn);
        SecurityContextHolder.setContext(context);
        sessions.saveContext(context, request, response);
        return "redirect:/console";
    }
}
