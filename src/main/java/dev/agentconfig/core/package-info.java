/**
 * The domain core: what a save is, what a field's version means, which value wins, how a failure
 * is classed, what a target made of a save, what waits in the local store. Plain records and pure
 * functions. Every other package depends on this one; it depends on nothing of ours and on no
 * framework (no Camel, no HTTP, no JDBC), which {@code ArchitectureTest} enforces.
 */
package dev.agentconfig.core;
