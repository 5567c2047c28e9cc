// The management token an operator typed in, for this browser tab only
// (sessionStorage: gone when the tab closes, never shared with other tabs).

const KEY = "paddler.managementToken";

export function storedToken(): string | null {
  try {
    return window.sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string | null): void {
  try {
    if (token === null || token === "") window.sessionStorage.removeItem(KEY);
    else window.sessionStorage.setItem(KEY, token);
  } catch {
    // Storage may be disabled; the token then lasts until the page reloads.
  }
}

export function authorizationHeaders(): Record<string, string> {
  const token = storedToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

const INFERENCE_KEY = "paddler.inferenceApiKey";

/** The inference API key for the Prompt page's socket, typed in after a refused connection. */
export function storedInferenceKey(): string | null {
  try {
    return window.sessionStorage.getItem(INFERENCE_KEY);
  } catch {
    return null;
  }
}

export function storeInferenceKey(key: string | null): void {
  try {
    if (key === null || key === "") window.sessionStorage.removeItem(INFERENCE_KEY);
    else window.sessionStorage.setItem(INFERENCE_KEY, key);
  } catch {
    // As for the management token.
  }
}

/** A browser cannot put headers on a WebSocket handshake: the balancer takes `?token=` there. */
export function withInferenceKey(socketUrl: string): string {
  const key = storedInferenceKey();
  return key ? `${socketUrl}?token=${encodeURIComponent(key)}` : socketUrl;
}
