// The console API's answers: JSON bodies, and {"error": "..."} with a 4xx status for a request the console cannot
// serve (a name that does not exist, a bad number, a change the Kafka APIs refused), so the page shows the reason.

export class ConsoleError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new ConsoleError(400, message);
export const notFound = (message: string) => new ConsoleError(404, message);

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "cache-control": "no-store" } });
}

export function errorResponse(error: ConsoleError): Response {
  return json({ error: error.message }, error.status);
}

/** A non-negative safe integer from a query parameter or body field, else a 400 naming it. */
export function nonNegativeInteger(value: unknown, name: string): number {
  const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isSafeInteger(number) || number < 0) throw badRequest(`${name} must be a non-negative integer, not ${JSON.stringify(value)}`);
  return number;
}

/** The request's JSON body as an object, else a 400. */
export async function readBody(request: Request, bytesMax: number): Promise<Record<string, unknown>> {
  const text = await request.text();
  if (text.length > bytesMax) throw new ConsoleError(413, `the request body is larger than ${bytesMax} bytes`);
  let body: unknown;
  try {
    body = text === "" ? {} : JSON.parse(text);
  } catch {
    throw badRequest("the request body is not JSON");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw badRequest("the request body must be a JSON object");
  return body as Record<string, unknown>;
}
