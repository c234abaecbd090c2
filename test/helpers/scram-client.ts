// The client side of SCRAM for raw-client tests: the one in src (the uplink's connection uses it too).

export { ScramClient } from "../../src/security/scram-client.ts";
