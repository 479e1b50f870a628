/** The REST calls of the scripted commands (images, disks, lineage), over the JDK's HttpClient. */
@NullMarked
package dev.sprig.agent.api;

import org.jspecify.annotations.NullMarked;
