// The page's one door to scamtrail: IntakeService over gRPC-Web (Connect's gRPC-Web transport),
// the public intake key in `authorization`, the page's language in `accept-language` (the server
// answers field messages and refusals in it), and refusals read into what the page shows.

import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { BadRequestSchema, LocalizedMessageSchema } from "./gen/google/rpc/error_details_pb";
import { IntakeService } from "./gen/scamtrail/v1/intake_pb";
import { lang } from "./i18n";

/** What `config.json` beside the page says (written by whoever deploys it). */
export interface PageConfig {
  /** The intake key, bound to this page's origin (`scamtrail key create --origin`). */
  intakeKey: string;
  /** The server's address; empty for the page's own origin (`scamtrail serve --web-dir`). */
  serverUrl?: string;
  /** The country chosen by default for the victim (ISO 3166-1 alpha-2). */
  country?: string;
}

/** A refusal as the page shows it. */
export interface Refusal {
  /** Lost connection, timeout or a server restarting: the same request may be sent again. */
  retryable: boolean;
  /** The server's message in the page's language, when it sent one. */
  message?: string;
  /** Bad fields: the request's field path and the message in the page's language. */
  fields: { field: string; message: string }[];
}

export type Intake = Client<typeof IntakeService>;

/** A client of IntakeService for `config`. */
export function intakeClient(config: PageConfig): Intake {
  const auth: Interceptor = (next) => async (req) => {
    req.header.set("authorization", `Bearer ${config.intakeKey}`);
    req.header.set("accept-language", lang());
    return next(req);
  };
  const baseUrl = config.serverUrl || window.location.origin;
  return createClient(IntakeService, createGrpcWebTransport({ baseUrl, interceptors: [auth] }));
}

/** Reads a failed call. */
export function refusal(error: unknown): Refusal {
  const e = ConnectError.from(error);
  const retryable = [Code.Unavailable, Code.DeadlineExceeded, Code.Unknown, Code.Canceled, Code.Aborted, Code.Internal].includes(
    e.code,
  );
  const localized = e.findDetails(LocalizedMessageSchema).find((m) => m.locale.startsWith(lang()));
  const fields = e.findDetails(BadRequestSchema).flatMap((b) =>
    b.fieldViolations.map((v) => ({
      field: v.field,
      message:
        v.localizedMessage && v.localizedMessage.locale.startsWith(lang()) ? v.localizedMessage.message : v.description,
    })),
  );
  // A fetch that never reached the server has no message from it: the page says the connection
  // was lost.
  return { retryable, message: localized?.message, fields };
}
