/**
 * The operator's console at {@code /console}: server-rendered pages (Thymeleaf, with htmx for live
 * progress) over the same services the REST API calls, behind the same API keys. It translates
 * forms to calls and results to pages, as the REST controllers translate JSON.
 */
@NullMarked
package dev.sprig.api.console;

import org.jspecify.annotations.NullMarked;
