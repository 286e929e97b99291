package dev.agentconfig.bench;

/** Tracing off (the default: no endpoint); see {@link TracingCost}. */
class TracingCostOff extends TracingCost {
}
