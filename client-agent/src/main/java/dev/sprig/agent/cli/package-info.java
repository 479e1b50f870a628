/** The {@code sprig-agent} command line (picocli): one class per command. */
@NullMarked
package dev.sprig.agent.cli;

import org.jspecify.annotations.NullMarked;
