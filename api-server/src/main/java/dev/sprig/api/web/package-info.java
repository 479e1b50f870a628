/** What every endpoint shares: the OpenAPI description, and later problem+json, paging and security. */
@NullMarked
package dev.sprig.api.web;

import org.jspecify.annotations.NullMarked;
