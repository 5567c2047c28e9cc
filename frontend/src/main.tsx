import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { App } from "./App";
import { loadApiLocations } from "./api/panelConfig";
import "./styles.css";

const root = createRoot(document.getElementById("root") as HTMLElement);

loadApiLocations().then(
  (locations) =>
    root.render(
      <StrictMode>
        <App locations={locations} />
      </StrictMode>,
    ),
  (error: unknown) =>
    root.render(
      <div className="content">
        <h1>Paddler</h1>
        <div className="error-box">
          The panel cannot read its configuration (config.json): {error instanceof Error ? error.message : String(error)}
        </div>
      </div>,
    ),
);
