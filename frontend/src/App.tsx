import { useCallback, useEffect, useMemo, useState } from "react";

import { ManagementClient } from "./api/managementClient";
import type { ApiLocations } from "./api/panelConfig";
import { storedToken, storeToken } from "./api/tokenStore";
import { ClusterBanner } from "./components/ClusterBanner";
import { TokenDialog } from "./components/TokenDialog";
import { DashboardPage } from "./pages/DashboardPage";
import { ModelPage } from "./pages/ModelPage";
import { PoolsPage } from "./pages/PoolsPage";
import { PromptPage } from "./pages/PromptPage";

type Route = "dashboard" | "model" | "pools" | "prompt";

const ROUTES: { route: Route; hash: string; label: string }[] = [
  { route: "dashboard", hash: "#/", label: "Dashboard" },
  { route: "model", hash: "#/model", label: "Model" },
  { route: "pools", hash: "#/pools", label: "Pools" },
  { route: "prompt", hash: "#/prompt", label: "Prompt" },
];

function routeOf(hash: string): Route {
  return ROUTES.find((entry) => entry.hash === hash && entry.hash !== "#/")?.route ?? "dashboard";
}

function useHashRoute(): Route {
  const [route, setRoute] = useState<Route>(() => routeOf(window.location.hash));
  useEffect(() => {
    const changed = () => setRoute(routeOf(window.location.hash));
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return route;
}

export function App({ locations }: { locations: ApiLocations }) {
  const route = useHashRoute();
  const [unauthorized, setUnauthorized] = useState<string | null>(null);
  const [hasToken, setHasToken] = useState(() => storedToken() !== null);
  // A new client (and so new requests and streams) after each token change.
  const [authVersion, setAuthVersion] = useState(0);
  const onUnauthorized = useCallback((message: string) => setUnauthorized(message), []);
  const client = useMemo(
    () => new ManagementClient(locations.managementUrl, onUnauthorized),
    // authVersion is a dependency on purpose: it renews the client.
    [locations.managementUrl, onUnauthorized, authVersion],
  );
  const changeToken = (token: string | null) => {
    storeToken(token);
    setHasToken(token !== null);
    setUnauthorized(null);
    setAuthVersion((version) => version + 1);
  };
  const title = ROUTES.find((entry) => entry.route === route)?.label ?? "";
  useEffect(() => {
    document.title = `${title} · Paddler`;
  }, [title]);

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>
          Paddler
        </div>
        <nav className="nav">
          {ROUTES.map((entry) => (
            <a key={entry.route} href={entry.hash} className={entry.route === route ? "nav-link current" : "nav-link"}>
              {entry.label}
            </a>
          ))}
        </nav>
        {hasToken && (
          <button type="button" className="button-secondary small" onClick={() => changeToken(null)}>
            Forget token
          </button>
        )}
      </header>
      <main className="content">
        <ClusterBanner key={authVersion} client={client} />
        <h1>{title}</h1>
        {route === "dashboard" && <DashboardPage key={authVersion} client={client} locations={locations} />}
        {route === "model" && <ModelPage key={authVersion} client={client} />}
        {route === "pools" && <PoolsPage key={authVersion} client={client} />}
        {route === "prompt" && <PromptPage locations={locations} />}
      </main>
      {unauthorized !== null && <TokenDialog message={unauthorized} onSubmit={(token) => changeToken(token)} />}
    </div>
  );
}
