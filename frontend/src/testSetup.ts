// toBeInTheDocument, toHaveTextContent and the other DOM matchers for Vitest.
import "@testing-library/jest-dom/vitest";
