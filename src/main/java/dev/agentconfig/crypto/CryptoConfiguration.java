package dev.agentconfig.crypto;

import dev.agentconfig.config.Beans;
import dev.agentconfig.config.Settings;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;

/**
 * The keyring and the cipher of the API key ("keyring", "fieldCipher"), and the service token
 * (generated into the data dir in embedded mode).
 */
public final class CryptoConfiguration implements CamelConfiguration {
    @Override
    public void configure(CamelContext context) {
        Settings settings = Beans.settings(context);
        Keyring keyring = Secrets.keyring(settings, key -> context.getPropertiesComponent().resolveProperty(key)
                .map(String::trim).filter(v -> !v.isEmpty()));
        context.getRegistry().bind("keyring", keyring);
        context.getRegistry().bind("fieldCipher", new FieldCipher(keyring));
        context.getRegistry().bind("serviceToken", Secrets.serviceToken(settings));
    }
}
