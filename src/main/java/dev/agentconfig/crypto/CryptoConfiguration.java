package dev.agentconfig.crypto;

import dev.agentconfig.config.Beans;
import dev.agentconfig.config.Settings;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;

/** The cipher of the API key and the service token (generated into the data dir in embedded mode). */
public final class CryptoConfiguration implements CamelConfiguration {
    @Override
    public void configure(CamelContext context) {
        Settings settings = Beans.settings(context);
        context.getRegistry().bind("fieldCipher", new FieldCipher(Secrets.encryptionKey(settings)));
        context.getRegistry().bind("serviceToken", Secrets.serviceToken(settings));
    }
}
