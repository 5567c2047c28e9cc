// Where the APIs are: the panel service tells in /config.json, by address.
// An address bound to every interface (0.0.0.0, ::) is reached through the
// host name the browser used for the panel itself.

import { decodePanelConfig } from "./decode";
import type { PanelConfig } from "./types";

const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", "[::]", ""]);

export function browserReachableAddress(address: string, pageHostname: string): string {
  const separator = address.lastIndexOf(":");
  const host = address.slice(0, separator);
  const port = address.slice(separator + 1);
  if (!WILDCARD_HOSTS.has(host)) return address;
  const pageHost = pageHostname.includes(":") ? `[${pageHostname}]` : pageHostname;
  return `${pageHost}:${port}`;
}

export interface ApiLocations {
  config: PanelConfig;
  managementUrl: string;
  inferenceUrl: string;
  inferenceSocketUrl: string;
}

export function apiLocations(config: PanelConfig, pageHostname: string): ApiLocations {
  const management = browserReachableAddress(config.management_addr, pageHostname);
  const inference = browserReachableAddress(config.inference_addr, pageHostname);
  const [http, ws] = config.tls ? ["https", "wss"] : ["http", "ws"];
  return {
    config,
    managementUrl: `${http}://${management}`,
    inferenceUrl: `${http}://${inference}`,
    inferenceSocketUrl: `${ws}://${inference}/api/v1/inference_socket`,
  };
}

export async function loadApiLocations(): Promise<ApiLocations> {
  const response = await fetch("config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  return apiLocations(decodePanelConfig(await response.json()), window.location.hostname);
}
