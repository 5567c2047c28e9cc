// Asked for when the management API answers 401: the token goes into
// sessionStorage and, from then on, into every request's Authorization header.

import { useState, type FormEvent } from "react";

export function TokenDialog({ message, onSubmit }: { message: string; onSubmit: (token: string) => void }) {
  const [token, setToken] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (token.trim() !== "") onSubmit(token.trim());
  };
  return (
    <div className="overlay">
      <form className="dialog card" role="dialog" aria-modal="true" aria-labelledby="token-title" onSubmit={submit}>
        <h2 id="token-title">Management token needed</h2>
        <p>
          The balancer requires a token for its management API
          {message ? <> (it said: <em>{message}</em>)</> : null}. It is kept in this tab only.
        </p>
        <input
          className="input mono"
          type="password"
          name="management-token"
          autoFocus
          autoComplete="off"
          placeholder="the value of --management-token"
          value={token}
          onChange={(event) => setToken(event.target.value)}
        />
        <div className="dialog-actions">
          <button type="submit" className="button-primary" disabled={token.trim() === ""}>
            Use this token
          </button>
        </div>
      </form>
    </div>
  );
}
