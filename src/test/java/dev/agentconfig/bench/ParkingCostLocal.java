package dev.agentconfig.bench;

import java.util.Properties;

/** Parking in the local store (agentconfig.parking=local), drained by this instance's sync; see {@link ParkingCost}. */
class ParkingCostLocal extends ParkingCost {
    @Override
    Properties parking() {
        Properties p = new Properties();
        p.setProperty("agentconfig.parking", "local");
        return p;
    }

    @Override
    boolean drained() {
        return localPending() == 0;
    }

    @Override
    String mode() {
        return "local store (fsync per save)";
    }
}
