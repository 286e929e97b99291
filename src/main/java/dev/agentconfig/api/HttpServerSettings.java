package dev.agentconfig.api;

import java.time.Duration;
import java.util.Optional;

import dev.agentconfig.config.Settings;
import org.apache.camel.CamelContext;

/**
 * The HTTP server's own limits (agentconfig.http.*, config/application.properties): how long a
 * client may take, how many connections it may hold, how many requests it may send.
 *
 * @param idleTimeout        a connection on which no byte moves either way for this long is closed
 * @param headersTimeout     a connection must deliver a request's complete headers this long after it
 *                           opened or after the previous answer; otherwise it is closed (slowloris)
 * @param bodyTimeout        a request's body must be complete this long after its headers
 * @param maxConnections     open connections at most; one more is closed at once
 * @param rateWindow         the window of the three request limits below (a token bucket: the limit
 *                           is its size, refilled evenly over the window)
 * @param perAddress         requests per window from one client address (every request that does not
 *                           carry the service token, before any route); 0 = no limit
 * @param perUser            requests per window for one user JWT (its tenant and subject); 0 = no limit
 * @param perService         requests per window for the service token (all of them together); 0 = no limit
 * @param trustForwardedFor  the client address is the last X-Forwarded-For entry (only behind a proxy
 *                           that sets it); false: the TCP peer's address, whatever the header says
 * @param refusalLogInterval refusals before any route are logged as one line per this interval
 */
public record HttpServerSettings(Duration idleTimeout, Duration headersTimeout, Duration bodyTimeout, int maxConnections,
                                 Duration rateWindow, int perAddress, int perUser, int perService,
                                 boolean trustForwardedFor, Duration refusalLogInterval) {

    public static HttpServerSettings from(CamelContext context) {
        HttpServerSettings s = new HttpServerSettings(
                duration(context, "agentconfig.http.idle-timeout", "30s"),
                duration(context, "agentconfig.http.headers-timeout", "10s"),
                duration(context, "agentconfig.http.body-timeout", "30s"),
                number(context, "agentconfig.http.max-connections", "2000"),
                duration(context, "agentconfig.http.rate.window", "10s"),
                number(context, "agentconfig.http.rate.per-address", "500"),
                number(context, "agentconfig.http.rate.per-user", "50"),
                number(context, "agentconfig.http.rate.per-service", "5000"),
                Boolean.parseBoolean(value(context, "agentconfig.http.trust-forwarded-for", "false")),
                duration(context, "agentconfig.log.summary-interval", "10s"));
        for (Duration d : new Duration[] {s.idleTimeout, s.headersTimeout, s.bodyTimeout, s.rateWindow}) {
            if (d.toMillis() < 1) {
                throw new IllegalStateException("agentconfig.http.*-timeout and agentconfig.http.rate.window must be positive");
            }
        }
        if (s.maxConnections < 1 || s.perAddress < 0 || s.perUser < 0 || s.perService < 0) {
            throw new IllegalStateException("agentconfig.http.max-connections must be at least 1 and the rate limits at least 0");
        }
        return s;
    }

    private static String value(CamelContext context, String key, String fallback) {
        Optional<String> v = context.getPropertiesComponent().resolveProperty(key).map(String::trim).filter(t -> !t.isEmpty());
        return v.orElse(fallback);
    }

    private static Duration duration(CamelContext context, String key, String fallback) {
        return Settings.duration(value(context, key, fallback));
    }

    private static int number(CamelContext context, String key, String fallback) {
        return Integer.parseInt(value(context, key, fallback));
    }
}
