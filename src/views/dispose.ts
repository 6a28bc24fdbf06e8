// `Symbol.asyncDispose`, for `await using view = …`, declared for consumers whose TypeScript lib
// predates it (as @types/node declares it): the views' `.d.ts` name it, and a program compiled
// without `esnext.disposable` must still typecheck them.

declare global {
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol;
  }
}

export {};
