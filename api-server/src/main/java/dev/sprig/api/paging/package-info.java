/**
 * Keyset pages: the cursor a client hands back ({@code pageToken}) and the signed tokens that carry
 * a page's last position, shared by every list that pages (resources, operations). No SQL here: the
 * repositories that page read the installation's id the tokens are keyed by.
 */
@NullMarked
package dev.sprig.api.paging;

import org.jspecify.annotations.NullMarked;
