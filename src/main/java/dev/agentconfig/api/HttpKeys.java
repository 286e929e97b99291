package dev.agentconfig.api;

import java.util.Map;

import dev.agentconfig.rotation.RotationStatus;
import org.apache.camel.Exchange;

/** The HTTP answers of the key endpoints (routes/api-keys.camel.yaml). (Exchange: the HTTP adapter.) */
public final class HttpKeys {

    /** POST /api/v1/admin/keys/rotate: 202 with the rotation's state (started now, or already running). */
    public Map<String, Object> started(Exchange exchange) {
        RotationStatus status = exchange.getMessage().getBody(RotationStatus.class);
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 202);
        return status.toMap();
    }
}
