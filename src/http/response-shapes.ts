// What a 2xx answer must hold for the operations the SDK reads itself (sessions, messages, status,
// permission and question lists, providers, …): only the fields the SDK goes on to use, so a 204,
// an empty body, `null` or `{}` from a broken server or proxy is an `InvalidResponseError` at the
// edge instead of a bare TypeError deep inside. Other operations pass as the server sent them.

/** Undefined when `value` fits; else what was expected, in words. */
type Shape = (value: unknown) => string | undefined;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const fits = (test: (value: unknown) => boolean, expected: string): Shape => (value) => (test(value) ? undefined : expected);

const withId = (value: unknown) => isRecord(value) && typeof value["id"] === "string";

const session = fits(withId, "a session ({ id, … })");
const sessions = fits((value) => Array.isArray(value) && value.every(withId), "a list of sessions");

const isMessage = (value: unknown) =>
  isRecord(value) && isRecord(value["info"]) && typeof value["info"]["id"] === "string" && typeof value["info"]["role"] === "string" && Array.isArray(value["parts"]);
const message = fits(isMessage, "a message ({ info: { id, role }, parts })");
const messages = fits((value) => Array.isArray(value) && value.every(isMessage), "a list of messages");

const boolean = fits((value) => typeof value === "boolean", "true or false");
const object = fits(isRecord, "an object");
const list = fits(Array.isArray, "a list");

/** `GET /permission`, `GET /question`: pending requests, each naming its id and session. */
const requests = fits(
  (value) => Array.isArray(value) && value.every((item) => withId(item) && typeof (item as Record<string, unknown>)["sessionID"] === "string"),
  "a list of requests ({ id, sessionID, … })",
);

const statuses = fits(
  (value) => isRecord(value) && Object.values(value).every((status) => isRecord(status) && typeof status["type"] === "string"),
  "a map of session statuses ({ [sessionID]: { type } })",
);

const providers = fits(
  (value) =>
    isRecord(value) &&
    Array.isArray(value["connected"]) &&
    isRecord(value["default"]) &&
    Array.isArray(value["all"]) &&
    value["all"].every((provider) => withId(provider) && isRecord((provider as Record<string, unknown>)["models"])),
  "the provider catalog ({ all, connected, default })",
);

const health = fits((value) => isRecord(value) && typeof value["version"] === "string", "the server's health ({ healthy, version })");

/** `GET /path`: the project's directories; `directory` is how global event frames name the project. */
const paths = fits((value) => isRecord(value) && typeof value["directory"] === "string", "the project's paths ({ directory, … })");

/** By operation: method and the spec's path template. */
const SHAPES: Readonly<Record<string, Shape>> = {
  "GET /global/health": health,
  "GET /path": paths,
  "POST /session": session,
  "GET /session": sessions,
  "GET /session/status": statuses,
  "GET /session/{sessionID}": session,
  "PATCH /session/{sessionID}": session,
  "DELETE /session/{sessionID}": boolean,
  "GET /session/{sessionID}/message": messages,
  "GET /session/{sessionID}/children": sessions,
  "POST /session/{sessionID}/fork": session,
  "POST /session/{sessionID}/share": session,
  "DELETE /session/{sessionID}/share": session,
  "POST /session/{sessionID}/revert": session,
  "POST /session/{sessionID}/unrevert": session,
  "POST /session/{sessionID}/abort": boolean,
  "POST /session/{sessionID}/summarize": boolean,
  "POST /session/{sessionID}/shell": message,
  "POST /session/{sessionID}/command": message,
  "GET /session/{sessionID}/diff": list,
  "GET /session/{sessionID}/todo": list,
  "GET /permission": requests,
  "GET /question": requests,
  "GET /provider": providers,
  "GET /agent": list,
  "GET /config": object,
  "GET /file": list,
  "GET /file/content": object,
  "GET /file/status": list,
  "GET /find": list,
  "GET /find/file": list,
  "GET /find/symbol": list,
};

/** What `operation` (`"GET /session/{sessionID}"`) should have answered, when `value` is not it. */
export function responseProblem(operation: string, value: unknown): string | undefined {
  return SHAPES[operation]?.(value);
}
