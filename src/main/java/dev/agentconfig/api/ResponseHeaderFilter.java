package dev.agentconfig.api;

import org.apache.camel.http.base.HttpHeaderFilterStrategy;

/**
 * Camel's HTTP header filter drops an outgoing {@code Cache-Control} header (it is on its list of
 * "common" headers), so {@code Cache-Control: no-store} set by HttpGuard never reached the
 * client. Answers that carry configuration (and a revealed key) must not be cached by proxies or
 * browsers: this filter lets that one header through and filters everything else as before.
 */
public final class ResponseHeaderFilter extends HttpHeaderFilterStrategy {
    @Override
    protected void initialize() {
        super.initialize();
        getOutFilter().remove("cache-control");
    }
}
