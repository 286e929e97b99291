package dev.agentconfig.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Properties;

import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;

/** agentconfig.parking: local by default; kafka without bootstrap servers, or another word, refuses to start. */
class ParkingSettingsTest {

    private static KafkaSettings settings(String... keyValues) {
        CamelContext context = new DefaultCamelContext();
        context.getPropertiesComponent().setLocation("classpath:application.properties");
        Properties p = new Properties();
        for (int i = 0; i < keyValues.length; i += 2) {
            p.setProperty(keyValues[i], keyValues[i + 1]);
        }
        context.getPropertiesComponent().setOverrideProperties(p);
        return KafkaSettings.from(context);
    }

    @Test
    void localByDefault() {
        assertThat(settings().parking().onKafka()).isFalse();
        assertThat(settings("agentconfig.kafka.bootstrap-servers", "127.0.0.1:9").parking().onKafka()).isFalse();
    }

    @Test
    void kafkaTakesTheTopicTheGroupAndTheBound() {
        KafkaSettings.Parking p = settings("agentconfig.kafka.bootstrap-servers", "127.0.0.1:9",
                "agentconfig.parking", "kafka").parking();
        assertThat(p.onKafka()).isTrue();
        assertThat(p.topic()).isEqualTo("agentconfig.parked");
        assertThat(p.groupId()).isEqualTo("agentconfig-parked-drain");
        assertThat(p.timeout()).hasSeconds(5);
    }

    @Test
    void kafkaWithoutBootstrapServersRefusesToStart() {
        assertThatThrownBy(() -> settings("agentconfig.parking", "kafka"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("agentconfig.kafka.bootstrap-servers");
        assertThatThrownBy(() -> settings("agentconfig.parking", "disk"))
                .hasMessageContaining("agentconfig.parking must be local or kafka");
    }
}
