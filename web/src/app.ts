// The victim report page: a report in six steps, live checks of every identifier while it is
// typed (NormalizeIdentifiers), field errors from SubmitReport shown next to their fields, the
// reference and follow-up code shown once, and a follow-up view (GetReportStatus,
// AddReportDetails). Everything the victim types is kept in localStorage, with the request's
// client_request_id, until the server acknowledges the report: a lost connection loses nothing,
// and a retry can never make a second report.

import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { intakeClient, refusal, type Intake, type PageConfig, type Refusal } from "./api";
import { type IdentifierOutcome, IdentifierKind, IdentifierRole, PaymentMethod, ScamCategory, ContactChannel } from "./gen/scamtrail/v1/report_pb";
import { ReportProgress, SubmitReportRequestSchema, type SubmitReportResponse } from "./gen/scamtrail/v1/intake_pb";
import { has, lang, setLang, t, type Lang, type TextKey } from "./i18n";

// ------------------------------------------------------------------ the draft

interface PaymentDraft {
  amount: string;
  currency: string;
  method: string;
  date: string;
  destination: string;
}

interface IdentifierDraft {
  type: string;
  value: string;
}

interface Draft {
  clientRequestId: string;
  step: number;
  category: string;
  firstContact: string;
  lastContact: string;
  narrative: string;
  channels: string[];
  ongoing: string;
  payments: PaymentDraft[];
  identifiers: IdentifierDraft[];
  victim: { name: string; email: string; phone: string; country: string };
  consent: boolean;
}

const DRAFT_KEY = "scamtrail-report-draft";
const LANG_KEY = "scamtrail-language";
const STEPS = 6;
const CHECK_DELAY_MS = 400;

const CATEGORIES = [
  "INVESTMENT", "CRYPTO_INVESTMENT", "TECH_SUPPORT", "REFUND", "ROMANCE", "SHOPPING",
  "ADVANCE_FEE", "IMPERSONATION", "RECOVERY", "TASK", "SEXTORTION", "OTHER",
] as const;
const CHANNELS = ["PHONE_CALL", "SMS", "WHATSAPP", "TELEGRAM", "SOCIAL_MEDIA_AD", "WEBSITE", "EMAIL", "POPUP"] as const;
const METHODS = ["BANK_TRANSFER", "INSTANT_TRANSFER", "CARD", "CRYPTO", "GIFT_CARD", "MONEY_TRANSFER_SERVICE", "CASH"] as const;
/** Currencies offered, with the decimals of their minor unit (as the server counts them). */
const CURRENCIES: [string, number][] = [
  ["EUR", 2], ["USD", 2], ["GBP", 2], ["CHF", 2], ["CAD", 2],
  ["BTC", 8], ["ETH", 18], ["USDT", 6], ["USDC", 6],
];
const COUNTRIES = ["FR", "BE", "CH", "LU", "CA", "MA", "SN", "CI", "GB", "IE", "DE", "ES", "IT", "NL", "PT", "US"];
/** What each kind of scammer detail is sent as: its role and kind hint. */
const IDENTIFIER_TYPES: Record<string, [IdentifierRole, IdentifierKind]> = {
  phone: [IdentifierRole.CALLER_NUMBER, IdentifierKind.PHONE],
  website: [IdentifierRole.WEBSITE, IdentifierKind.WEBSITE],
  email: [IdentifierRole.EMAIL, IdentifierKind.EMAIL],
  account: [IdentifierRole.OTHER, IdentifierKind.UNSPECIFIED],
  wallet: [IdentifierRole.WALLET, IdentifierKind.CRYPTO_WALLET],
  telegram: [IdentifierRole.MESSAGING_HANDLE, IdentifierKind.TELEGRAM],
  whatsapp: [IdentifierRole.MESSAGING_HANDLE, IdentifierKind.WHATSAPP],
  instagram: [IdentifierRole.MESSAGING_HANDLE, IdentifierKind.INSTAGRAM],
  tiktok: [IdentifierRole.MESSAGING_HANDLE, IdentifierKind.TIKTOK],
  facebook: [IdentifierRole.MESSAGING_HANDLE, IdentifierKind.FACEBOOK],
  x: [IdentifierRole.MESSAGING_HANDLE, IdentifierKind.X],
  other: [IdentifierRole.OTHER, IdentifierKind.UNSPECIFIED],
};

/** A random id for client_request_id (getRandomValues works outside secure contexts too). */
function newRequestId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function emptyPayment(): PaymentDraft {
  return { amount: "", currency: "EUR", method: "", date: "", destination: "" };
}

function emptyDraft(country: string): Draft {
  return {
    clientRequestId: newRequestId(),
    step: 1,
    category: "",
    firstContact: "",
    lastContact: "",
    narrative: "",
    channels: [],
    ongoing: "",
    payments: [emptyPayment()],
    identifiers: [{ type: "phone", value: "" }],
    victim: { name: "", email: "", phone: "", country },
    consent: false,
  };
}

let config: PageConfig = { intakeKey: "" };
let client: Intake | undefined;
let draft: Draft = emptyDraft("");

function saveDraft(): void {
  try {
    localStorage.setItem(DRAFT_KEY, JSON.stringify(draft));
  } catch {
    // Storage full or refused: the answers stay in the page.
  }
}

function loadDraft(): Draft | undefined {
  try {
    const text = localStorage.getItem(DRAFT_KEY);
    if (!text) return undefined;
    const stored = JSON.parse(text) as Draft;
    return stored && typeof stored.clientRequestId === "string" ? { ...emptyDraft(""), ...stored } : undefined;
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------ the DOM, briefly

function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing`);
  return el;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function announce(text: string): void {
  const announcer = $("announcer");
  announcer.textContent = "";
  // A change after a tick is read even when the text repeats.
  window.setTimeout(() => (announcer.textContent = text), 50);
}

function regionName(code: string): string {
  if (!code) return "";
  try {
    return new Intl.DisplayNames([lang()], { type: "region" }).of(code) ?? code;
  } catch {
    return code;
  }
}

function options(select: HTMLSelectElement, items: [string, string][], value: string): void {
  select.replaceChildren(...items.map(([v, text]) => el("option", { value: v }, text)));
  select.value = value;
}

// ------------------------------------------------------------------ texts and language

function applyTexts(): void {
  document.documentElement.lang = lang();
  for (const node of document.querySelectorAll<HTMLElement>("[data-i18n]")) {
    node.textContent = t(node.dataset.i18n as TextKey);
  }
  for (const node of document.querySelectorAll<HTMLElement>("[data-i18n-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nLabel as TextKey));
  }
  $("lang-switch").setAttribute("lang", lang() === "fr" ? "en" : "fr");
  document.title = t("page.title");
}

function renderStaticChoices(): void {
  options(
    $("category") as HTMLSelectElement,
    [["", t("category.choose")], ...CATEGORIES.map((c): [string, string] => [c, t(`category.${c}` as TextKey)])],
    draft.category,
  );
  const countries = COUNTRIES.map((c): [string, string] => [c, regionName(c)]).sort((a, b) => a[1].localeCompare(b[1], lang()));
  options($("victim-country") as HTMLSelectElement, [["", "—"], ...countries], draft.victim.country);
  const channels = $("channels");
  channels.replaceChildren(
    ...CHANNELS.map((c) => {
      const label = el("label", { class: "choice" });
      const box = el("input", { type: "checkbox", id: `channel-${c}`, "data-channel": c });
      box.checked = draft.channels.includes(c);
      label.append(box, " ", el("span", {}, t(`channel.${c}` as TextKey)));
      return label;
    }),
  );
}

function setLanguage(next: Lang): void {
  setLang(next);
  try {
    localStorage.setItem(LANG_KEY, next);
  } catch {
    // Not kept: the next visit asks the browser again.
  }
  applyTexts();
  renderStaticChoices();
  renderPayments();
  renderIdentifiers();
  renderAddIdentifier();
  showStep(draft.step, false);
  for (const [id, key] of localErrors) setFieldError(id, t(key));
}

// ------------------------------------------------------------------ lists: payments, identifiers

function fieldBlock(id: string, label: string, control: HTMLElement, extra: { hint?: string; check?: boolean } = {}): HTMLElement {
  const block = el("div", { class: "field" });
  const described: string[] = [];
  block.append(el("label", { for: id }, label));
  if (extra.hint) {
    block.append(el("p", { class: "hint", id: `${id}-hint` }, extra.hint));
    described.push(`${id}-hint`);
  }
  block.append(control);
  if (extra.check) {
    block.append(el("p", { class: "check", id: `${id}-check`, "aria-live": "polite" }));
    described.push(`${id}-check`);
  }
  block.append(el("p", { class: "field-error", id: `${id}-error`, hidden: "" }));
  described.push(`${id}-error`);
  control.setAttribute("aria-describedby", described.join(" "));
  return block;
}

function input(id: string, bind: string, field: string, value: string, attrs: Record<string, string> = {}): HTMLInputElement {
  const node = el("input", { type: "text", id, "data-bind": bind, "data-field": field, ...attrs });
  node.value = value;
  return node;
}

function select(id: string, bind: string, field: string, items: [string, string][], value: string): HTMLSelectElement {
  const node = el("select", { id, "data-bind": bind, "data-field": field });
  options(node, items, value);
  return node;
}

function renderPayments(): void {
  const list = $("payments");
  list.replaceChildren(
    ...draft.payments.map((p, i) => {
      const n = i + 1;
      const field = `report.payments[${i}]`;
      const box = el("fieldset", { class: "entry" });
      box.append(el("legend", {}, t("payment", { n })));
      const row = el("div", { class: "row" });
      row.append(
        fieldBlock(`pay-${i}-amount`, t("amount"), input(`pay-${i}-amount`, `payments.${i}.amount`, `${field}.amount_minor`, p.amount, { inputmode: "decimal", autocomplete: "off" }), { hint: t("amount.hint") }),
        fieldBlock(`pay-${i}-currency`, t("currency"), select(`pay-${i}-currency`, `payments.${i}.currency`, `${field}.currency`, CURRENCIES.map(([c]) => [c, c]), p.currency)),
      );
      box.append(
        row,
        fieldBlock(`pay-${i}-method`, t("method"), select(`pay-${i}-method`, `payments.${i}.method`, `${field}.method`, [["", t("method.choose")], ...METHODS.map((m): [string, string] => [m, t(`method.${m}` as TextKey)])], p.method)),
        fieldBlock(`pay-${i}-date`, t("paid_at"), input(`pay-${i}-date`, `payments.${i}.date`, `${field}.paid_at`, p.date, { type: "date" })),
        fieldBlock(`pay-${i}-destination`, t("destination"), input(`pay-${i}-destination`, `payments.${i}.destination`, `${field}.beneficiaries[0].value`, p.destination, { class: "identifier-input", autocomplete: "off", spellcheck: "false" }), { hint: t("destination.hint"), check: true }),
      );
      if (draft.payments.length > 1) {
        const remove = el("button", { type: "button", class: "secondary", "data-remove-payment": String(i) }, t("payment.remove", { n }));
        box.append(remove);
      }
      return box;
    }),
  );
  restoreChecks(list);
}

/** Shows again, after a list was drawn anew, what was understood of each value in it. */
function restoreChecks(list: HTMLElement): void {
  for (const node of list.querySelectorAll<HTMLInputElement>(".identifier-input")) {
    const outcome = lastChecks.get(node.id);
    if (outcome && outcome.raw === node.value.trim()) showCheck(node.id, outcome);
    else if (node.value.trim()) scheduleCheck(node);
  }
}

function renderIdentifiers(): void {
  const list = $("identifiers");
  const types = Object.keys(IDENTIFIER_TYPES).map((k): [string, string] => [k, t(`type.${k}` as TextKey)]);
  list.replaceChildren(
    ...draft.identifiers.map((d, i) => {
      const n = i + 1;
      const field = `report.identifiers[${i}]`;
      const box = el("fieldset", { class: "entry" });
      box.append(
        el("legend", {}, t("identifier", { n })),
        fieldBlock(`id-${i}-type`, t("identifier.type"), select(`id-${i}-type`, `identifiers.${i}.type`, `${field}.kind_hint`, types, d.type)),
        fieldBlock(`id-${i}-value`, t("identifier.value"), input(`id-${i}-value`, `identifiers.${i}.value`, `${field}.value`, d.value, { class: "identifier-input", autocomplete: "off", spellcheck: "false" }), { check: true }),
      );
      if (draft.identifiers.length > 1) {
        box.append(el("button", { type: "button", class: "secondary", "data-remove-identifier": String(i) }, t("identifier.remove", { n })));
      }
      return box;
    }),
  );
  restoreChecks(list);
}

/** The follow-up's one identifier field (its values live in the page only). */
const addDetail: IdentifierDraft = { type: "phone", value: "" };

function renderAddIdentifier(): void {
  const types = Object.keys(IDENTIFIER_TYPES).map((k): [string, string] => [k, t(`type.${k}` as TextKey)]);
  const box = $("add-identifier");
  const kind = select("add-id-type", "", "identifiers[0].kind_hint", types, addDetail.type);
  const value = input("add-id-value", "", "identifiers[0].value", addDetail.value, { class: "identifier-input", autocomplete: "off", spellcheck: "false" });
  kind.addEventListener("change", () => (addDetail.type = kind.value));
  value.addEventListener("input", () => {
    addDetail.value = value.value;
    scheduleCheck(value);
  });
  box.replaceChildren(fieldBlock("add-id-type", t("identifier.type"), kind), fieldBlock("add-id-value", t("identifier.value"), value, { check: true }));
  restoreChecks(box);
}

// ------------------------------------------------------------------ live checks

const checkTimers = new Map<string, number>();
const checkSequence = new Map<string, number>();
/** The last outcome shown under each field, to show again in another language. */
const lastChecks = new Map<string, IdentifierOutcome>();

/** The role and kind hint of the value typed in `node`. */
function identifierHint(node: HTMLInputElement): [IdentifierRole, IdentifierKind] {
  const bind = node.dataset.bind ?? "";
  const payment = /^payments\.(\d+)\./.exec(bind);
  if (payment) {
    const method = draft.payments[Number(payment[1])]?.method;
    return [method === "CRYPTO" ? IdentifierRole.WALLET : IdentifierRole.BENEFICIARY_ACCOUNT, IdentifierKind.UNSPECIFIED];
  }
  const id = /^identifiers\.(\d+)\./.exec(bind);
  const type = id ? draft.identifiers[Number(id[1])]?.type : addDetail.type;
  return IDENTIFIER_TYPES[type ?? "other"] ?? [IdentifierRole.OTHER, IdentifierKind.UNSPECIFIED];
}

function scheduleCheck(node: HTMLInputElement): void {
  window.clearTimeout(checkTimers.get(node.id));
  checkTimers.set(node.id, window.setTimeout(() => void check(node), CHECK_DELAY_MS));
}

async function check(node: HTMLInputElement): Promise<void> {
  const target = document.getElementById(`${node.id}-check`);
  const value = node.value.trim();
  if (!target || !client) return;
  const sequence = (checkSequence.get(node.id) ?? 0) + 1;
  checkSequence.set(node.id, sequence);
  if (!value) {
    lastChecks.delete(node.id);
    target.textContent = "";
    return;
  }
  target.className = "check";
  target.textContent = t("check.checking");
  const [role, kindHint] = identifierHint(node);
  try {
    const answer = await client.normalizeIdentifiers({ values: [{ value, role, kindHint }], country: draft.victim.country });
    if (checkSequence.get(node.id) !== sequence) return; // a later keystroke's answer will come
    const outcome = answer.outcomes[0];
    if (outcome) {
      lastChecks.set(node.id, outcome);
      showCheck(node.id, outcome);
    }
  } catch (error) {
    if (checkSequence.get(node.id) !== sequence) return;
    // A failed check is no reason to stop the victim: the value is checked again on submission.
    target.textContent = "";
    void error;
  }
}

const NETWORKS: Record<string, string> = { telegram: "Telegram", instagram: "Instagram", tiktok: "TikTok", facebook: "Facebook", x: "X", whatsapp: "WhatsApp" };
const WALLETS = new Set(["btc", "evm", "trx", "ltc", "xrp", "sol", "ton"]);

function describe(outcome: IdentifierOutcome): [string, string] {
  if (outcome.result.case === "normalized") {
    const n = outcome.result.value;
    const display = n.display;
    if (n.kind === "card") return [t("check.card", { display }), "check check-warning"];
    let text: string;
    if (n.kind === "iban") {
      text = t("check.iban", { country: regionName(n.country), checksum: n.checksumVerified ? t("check.checksum_ok") : "", display });
    } else if (n.kind === "tel") {
      const typeKey = `check.tel.${n.phoneType}`;
      text = t("check.tel", { type: has(typeKey) ? t(typeKey) : t("check.tel.other"), country: regionName(n.country), display });
    } else if (n.kind === "domain") {
      text = t("check.domain", { display });
    } else if (n.kind === "email") {
      text = t("check.email", { display });
    } else if (WALLETS.has(n.kind)) {
      const chain = n.chain ? n.chain.charAt(0).toUpperCase() + n.chain.slice(1) : n.kind.toUpperCase();
      text = t("check.wallet", { chain, checksum: n.checksumVerified ? t("check.checksum_ok") : "", display });
    } else if (n.kind === "tx") {
      text = t("check.tx", { display });
    } else if (n.kind in NETWORKS) {
      text = t("check.handle", { network: NETWORKS[n.kind] ?? n.kind, display });
    } else if (n.kind === "bic") {
      text = t("check.bic", { display });
    } else if (n.kind === "acct") {
      text = t("check.acct", { display });
    } else {
      text = t("check.other", { display });
    }
    return [text, "check check-ok"];
  }
  if (outcome.result.case === "unverified") {
    const r = outcome.result.value;
    const key = `reason.${r.reason}`;
    const reason = has(key) ? t(key) : lang() === "en" && r.message ? r.message : t("reason.other");
    return [t("check.unverified", { reason }), "check check-unverified"];
  }
  return ["", "check"];
}

function showCheck(id: string, outcome: IdentifierOutcome): void {
  const target = document.getElementById(`${id}-check`);
  if (!target) return;
  const [text, cls] = describe(outcome);
  target.className = cls;
  target.textContent = text;
}

// ------------------------------------------------------------------ steps and review

function showStep(step: number, focus = true): void {
  draft.step = Math.min(Math.max(step, 1), STEPS);
  for (const section of document.querySelectorAll<HTMLElement>("#report-form .step")) {
    section.hidden = Number(section.dataset.step) !== draft.step;
  }
  $("step-counter").textContent = t("step", { n: draft.step, total: STEPS });
  ($("back") as HTMLButtonElement).hidden = draft.step === 1;
  ($("next") as HTMLButtonElement).hidden = draft.step === STEPS;
  ($("send") as HTMLButtonElement).hidden = draft.step !== STEPS;
  if (draft.step === STEPS) renderReview();
  if (focus) {
    $(`step${draft.step}-title`).focus();
    announce(`${t("step", { n: draft.step, total: STEPS })} : ${t(`step${draft.step}.title` as TextKey)}`);
  }
}

function renderReview(): void {
  const items: [string, string][] = [
    [t("category"), draft.category ? t(`category.${draft.category}` as TextKey) : "—"],
    [t("first_contact"), draft.firstContact ? new Date(`${draft.firstContact}T12:00:00`).toLocaleDateString(lang()) : "—"],
    [t("narrative"), draft.narrative || "—"],
    [t("step3.title"), t("review.payments", { n: draft.payments.filter(paymentStarted).length })],
    [t("step4.title"), t("review.identifiers", { n: draft.identifiers.filter((d) => d.value.trim()).length })],
    [t("victim.email"), draft.victim.email || "—"],
    [t("consent"), draft.consent ? "✓" : "—"],
  ];
  $("review").replaceChildren(...items.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

// ------------------------------------------------------------------ field errors

/** Errors the page found itself (not the server), by input id, to show again in another language. */
const localErrors = new Map<string, TextKey>();

function setFieldError(id: string, message: string): void {
  const control = document.getElementById(id);
  const error = document.getElementById(`${id}-error`);
  if (!control || !error) return;
  control.setAttribute("aria-invalid", "true");
  error.textContent = message;
  error.hidden = false;
}

function clearFieldErrors(scope: HTMLElement): void {
  for (const node of scope.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  for (const node of scope.querySelectorAll<HTMLElement>(".field-error")) {
    node.hidden = true;
    node.textContent = "";
  }
}

/** The control showing `field` (a request path): itself, or the list it is an item of. */
function controlFor(scope: HTMLElement, field: string): HTMLElement | undefined {
  for (const candidate of [field, field.replace(/\[\d+\]$/, ""), field.replace(/\.[a-z_]+$/, ".value")]) {
    const node = scope.querySelector<HTMLElement>(`[data-field="${CSS.escape(candidate)}"]`);
    if (node) return node;
  }
  return undefined;
}

/** Shows the server's field violations next to their fields; returns the first control. */
function showFieldErrors(scope: HTMLElement, fields: Refusal["fields"], list?: HTMLElement): HTMLElement | undefined {
  let first: HTMLElement | undefined;
  const items: HTMLElement[] = [];
  for (const { field, message } of fields) {
    const control = controlFor(scope, field);
    const id = control?.id === "channels" ? "channels" : control?.id;
    if (id) {
      setFieldError(id, message);
      first ??= control;
    }
    if (list) {
      const item = el("li");
      if (id) {
        const link = el("a", { href: `#${id}`, "data-goto": id }, message);
        const label = document.querySelector(`label[for="${id}"]`)?.textContent;
        if (label) link.textContent = `${label} : ${message}`;
        item.append(link);
      } else {
        item.textContent = message;
      }
      items.push(item);
    }
  }
  list?.replaceChildren(...items);
  return first;
}

function goToControl(control: HTMLElement): void {
  const step = control.closest<HTMLElement>(".step")?.dataset.step;
  if (step) showStep(Number(step), false);
  const focusable = control.id === "channels" ? control.querySelector<HTMLElement>("input") : control;
  focusable?.focus();
}

// ------------------------------------------------------------------ building the request

/** Minor units of `text` typed by a person ("1 500,50", "1,500.50", "0.25"), or undefined. */
function amountMinor(text: string, currency: string): bigint | undefined {
  let s = text.replace(/[\s\u00a0\u202f']/g, "");
  if (!s) return 0n;
  const lastComma = s.lastIndexOf(",");
  const lastDot = s.lastIndexOf(".");
  if (lastComma >= 0 && lastDot >= 0) {
    // Both: the last one is the decimal separator, the other groups thousands.
    s = lastComma > lastDot ? s.replace(/\./g, "").replace(",", ".") : s.replace(/,/g, "");
  } else {
    s = s.replace(",", ".");
  }
  const match = /^(\d{1,30})(?:\.(\d+))?$/.exec(s);
  const decimals = CURRENCIES.find(([c]) => c === currency)?.[1] ?? 2;
  if (!match || (match[2] ?? "").length > decimals) return undefined;
  return BigInt(match[1]!) * 10n ** BigInt(decimals) + BigInt((match[2] ?? "").padEnd(decimals, "0") || "0");
}

/** An instant for a date typed in the page: noon that day, or now if that is later than now. */
function instant(date: string) {
  if (!date) return undefined;
  const at = new Date(`${date}T12:00:00`);
  if (Number.isNaN(at.getTime())) return undefined;
  return timestampFromDate(at.getTime() > Date.now() ? new Date() : at);
}

function paymentStarted(p: PaymentDraft): boolean {
  return Boolean(p.amount.trim() || p.method || p.date || p.destination.trim());
}

/** The request, or the ids of fields the page itself cannot read. */
function buildRequest(): { request?: ReturnType<typeof create<typeof SubmitReportRequestSchema>>; unreadable: string[] } {
  const unreadable: string[] = [];
  const payments = draft.payments
    .map((p, i) => ({ p, i }))
    .filter(({ p }) => paymentStarted(p))
    .map(({ p, i }) => {
      const minor = amountMinor(p.amount, p.currency);
      if (minor === undefined) unreadable.push(`pay-${i}-amount`);
      const destination = p.destination.trim();
      return {
        amountMinor: minor ?? 0n,
        currency: p.currency,
        method: p.method ? PaymentMethod[p.method as keyof typeof PaymentMethod] : PaymentMethod.UNSPECIFIED,
        paidAt: instant(p.date),
        beneficiaries: destination
          ? [{ value: destination, role: p.method === "CRYPTO" ? IdentifierRole.WALLET : IdentifierRole.BENEFICIARY_ACCOUNT, kindHint: IdentifierKind.UNSPECIFIED }]
          : [],
      };
    });
  const identifiers = draft.identifiers
    .filter((d) => d.value.trim())
    .map((d) => {
      const [role, kindHint] = IDENTIFIER_TYPES[d.type] ?? [IdentifierRole.OTHER, IdentifierKind.UNSPECIFIED];
      return { value: d.value.trim(), role, kindHint };
    });
  if (unreadable.length) return { unreadable };
  const request = create(SubmitReportRequestSchema, {
    clientRequestId: draft.clientRequestId,
    report: {
      category: draft.category ? ScamCategory[draft.category as keyof typeof ScamCategory] : ScamCategory.UNSPECIFIED,
      firstContactAt: instant(draft.firstContact),
      lastContactAt: instant(draft.lastContact),
      contactChannels: draft.channels.map((c) => ContactChannel[c as keyof typeof ContactChannel]),
      narrative: draft.narrative,
      payments,
      identifiers,
      victim: {
        name: draft.victim.name,
        email: draft.victim.email,
        phone: draft.victim.phone,
        country: draft.victim.country,
        consentToShareWithPolice: draft.consent,
      },
      contactOngoing: draft.ongoing === "yes",
    },
  });
  return { request, unreadable };
}

// ------------------------------------------------------------------ submission

let sending = false;

async function submitReport(): Promise<void> {
  if (sending) return;
  const form = $("report-form");
  clearFieldErrors(form);
  localErrors.clear();
  $("error-summary").hidden = true;
  $("submit-problem").hidden = true;
  if (!client) {
    $("config-error").hidden = false;
    return;
  }
  const { request, unreadable } = buildRequest();
  if (!request) {
    for (const id of unreadable) {
      localErrors.set(id, "error.amount");
      setFieldError(id, t("error.amount"));
    }
    const first = document.getElementById(unreadable[0] ?? "");
    if (first) goToControl(first);
    return;
  }
  sending = true;
  const send = $("send") as HTMLButtonElement;
  send.disabled = true;
  send.textContent = t("sending");
  announce(t("sending"));
  try {
    const answer = await client.submitReport(request, { timeoutMs: 30_000 });
    // Acknowledged: the draft has done its job.
    localStorage.removeItem(DRAFT_KEY);
    showDone(answer);
  } catch (error) {
    const r = refusal(error);
    if (r.fields.length) {
      const summary = $("error-summary");
      const first = showFieldErrors(form, r.fields, $("error-list"));
      summary.hidden = false;
      if (first) goToControl(first);
      else summary.focus();
      announce(`${t("errors.title")}. ${r.fields.map((f) => f.message).join(" ")}`);
    } else {
      $("submit-problem-text").textContent = r.message ?? (r.retryable ? t("error.network") : t("error.generic"));
      $("submit-problem").hidden = false;
    }
  } finally {
    sending = false;
    send.disabled = false;
    send.textContent = $("submit-problem").hidden ? t("send") : t("error.retry");
  }
}

let shown: { reference: string; secret: string; received: string } | undefined;

function showDone(answer: SubmitReportResponse): void {
  const received = answer.receivedAt ? timestampDate(answer.receivedAt).toLocaleString(lang()) : "";
  shown = { reference: answer.reference, secret: answer.followUpSecret, received };
  $("done-reference").textContent = answer.reference;
  $("done-secret").textContent = answer.followUpSecret;
  const replayed = !answer.followUpSecret;
  $("done-secret").hidden = replayed;
  $("done-secret-label").hidden = replayed;
  $("done-once").hidden = replayed;
  $("done-download").hidden = replayed;
  $("done-replayed").hidden = !replayed;
  ($("done-written").closest(".field") as HTMLElement).hidden = replayed;
  ($("done-written") as HTMLInputElement).checked = false;
  ($("done-finish") as HTMLButtonElement).disabled = !replayed;
  draft = emptyDraft(config.country ?? "");
  showView("done");
  $("done-title").focus();
  announce(`${t("done.title")}. ${t("done.reference")} : ${answer.reference}`);
}

function download(): void {
  if (!shown) return;
  const url = `${window.location.origin}${window.location.pathname}#/suivi`;
  const text = t("done.file", { ...shown, url });
  const link = el("a", { href: URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" })), download: `${shown.reference}.txt` });
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

// ------------------------------------------------------------------ follow-up

let opened: { reference: string; secret: string } | undefined;
let addRequestId = newRequestId();

function showStatus(status: { reference: string; progress: ReportProgress; receivedAt?: Parameters<typeof timestampDate>[0]; detailsAdded: number }): void {
  const name = ReportProgress[status.progress] ?? "other";
  const key = `progress.${name}`;
  $("followup-progress").textContent = has(key) ? t(key) : t("progress.other");
  $("followup-received").textContent = status.receivedAt ? t("followup.received", { date: timestampDate(status.receivedAt).toLocaleString(lang()) }) : "";
  $("followup-added").textContent = t("followup.added", { n: status.detailsAdded });
  $("followup-status").hidden = false;
}

function showProblem(id: string, r: Refusal): void {
  const box = $(id);
  box.textContent = r.message ?? (r.retryable ? t("error.network") : t("error.generic"));
  box.hidden = false;
}

async function openFollowUp(): Promise<void> {
  const form = $("followup-form");
  clearFieldErrors(form);
  $("followup-problem").hidden = true;
  if (!client) return;
  const reference = ($("followup-reference") as HTMLInputElement).value.trim();
  const secret = ($("followup-secret") as HTMLInputElement).value.trim();
  try {
    const status = await client.getReportStatus({ reference, secret }, { timeoutMs: 30_000 });
    opened = { reference, secret };
    showStatus(status);
    announce(`${t("followup.status")} : ${$("followup-progress").textContent}`);
  } catch (error) {
    const r = refusal(error);
    $("followup-status").hidden = true;
    const first = showFieldErrors(form, r.fields);
    if (first) first.focus();
    else showProblem("followup-problem", r);
  }
}

async function addDetails(): Promise<void> {
  const form = $("add-form");
  clearFieldErrors(form);
  $("add-problem").hidden = true;
  $("add-done").hidden = true;
  if (!client || !opened) return;
  const narrative = ($("add-narrative") as HTMLTextAreaElement).value;
  const [role, kindHint] = IDENTIFIER_TYPES[addDetail.type] ?? [IdentifierRole.OTHER, IdentifierKind.UNSPECIFIED];
  const identifiers = addDetail.value.trim() ? [{ value: addDetail.value.trim(), role, kindHint }] : [];
  try {
    const answer = await client.addReportDetails({ ...opened, clientRequestId: addRequestId, narrative, identifiers }, { timeoutMs: 30_000 });
    addRequestId = newRequestId();
    ($("add-narrative") as HTMLTextAreaElement).value = "";
    addDetail.value = "";
    renderAddIdentifier();
    if (answer.status) showStatus(answer.status);
    $("add-done").hidden = false;
  } catch (error) {
    const r = refusal(error);
    const first = showFieldErrors(form, r.fields);
    if (first) first.focus();
    else showProblem("add-problem", r);
  }
}

// ------------------------------------------------------------------ views

type View = "report" | "done" | "followup";

function showView(view: View): void {
  $("view-report").hidden = view !== "report";
  $("view-done").hidden = view !== "done";
  $("view-followup").hidden = view !== "followup";
  $("nav-report").toggleAttribute("aria-current", view === "report");
  $("nav-followup").toggleAttribute("aria-current", view === "followup");
  if (view === "report") $("nav-report").setAttribute("aria-current", "page");
  if (view === "followup") $("nav-followup").setAttribute("aria-current", "page");
}

function route(): void {
  const followUp = /^#\/(suivi|follow-up)/.test(window.location.hash);
  if (!$("view-done").hidden && !followUp) return;
  showView(followUp ? "followup" : "report");
}

// ------------------------------------------------------------------ wiring

function setByPath(path: string, value: string | boolean): void {
  const parts = path.split(".");
  let target: Record<string, unknown> = draft as unknown as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) target = target[part] as Record<string, unknown>;
  target[parts[parts.length - 1]!] = value;
}

function onInput(event: Event): void {
  const node = event.target as HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  if (node.dataset.channel) {
    const channel = node.dataset.channel;
    draft.channels = (node as HTMLInputElement).checked ? [...new Set([...draft.channels, channel])] : draft.channels.filter((c) => c !== channel);
  } else if (node.dataset.bind) {
    if (node instanceof HTMLInputElement && node.type === "checkbox") setByPath(node.dataset.bind, node.checked);
    else if (node instanceof HTMLInputElement && node.type === "radio") {
      if (node.checked) setByPath(node.dataset.bind, node.value);
    } else setByPath(node.dataset.bind, node.value);
  } else {
    return;
  }
  saveDraft();
  if (node.classList.contains("identifier-input")) scheduleCheck(node as HTMLInputElement);
  // A changed kind or method changes how the value beside it is read.
  const sibling = /^(identifiers|payments)\.(\d+)\.(type|method)$/.exec(node.dataset.bind ?? "");
  if (sibling) {
    const id = sibling[1] === "identifiers" ? `id-${sibling[2]}-value` : `pay-${sibling[2]}-destination`;
    const value = document.getElementById(id) as HTMLInputElement | null;
    if (value?.value.trim()) scheduleCheck(value);
  }
}

function fillStaticInputs(): void {
  ($("first-contact") as HTMLInputElement).value = draft.firstContact;
  ($("last-contact") as HTMLInputElement).value = draft.lastContact;
  ($("narrative") as HTMLTextAreaElement).value = draft.narrative;
  ($("victim-name") as HTMLInputElement).value = draft.victim.name;
  ($("victim-email") as HTMLInputElement).value = draft.victim.email;
  ($("victim-phone") as HTMLInputElement).value = draft.victim.phone;
  ($("consent") as HTMLInputElement).checked = draft.consent;
  ($("ongoing-yes") as HTMLInputElement).checked = draft.ongoing === "yes";
  ($("ongoing-no") as HTMLInputElement).checked = draft.ongoing === "no";
}

function renderAll(): void {
  applyTexts();
  renderStaticChoices();
  fillStaticInputs();
  renderPayments();
  renderIdentifiers();
  renderAddIdentifier();
  showStep(draft.step, false);
}

async function loadConfig(): Promise<void> {
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (response.ok) config = (await response.json()) as PageConfig;
  } catch {
    // No config: the page says so below.
  }
  if (config.intakeKey) client = intakeClient(config);
  else $("config-error").hidden = false;
}

async function start(): Promise<void> {
  let stored: string | null = null;
  try {
    stored = localStorage.getItem(LANG_KEY);
  } catch {
    stored = null;
  }
  setLang(stored === "fr" || stored === "en" ? stored : navigator.language.toLowerCase().startsWith("fr") ? "fr" : "en");
  await loadConfig();
  const restored = loadDraft();
  draft = restored ?? emptyDraft(config.country ?? "");
  $("draft-notice").hidden = !restored;
  renderAll();
  route();

  const form = $("report-form");
  form.addEventListener("input", onInput);
  form.addEventListener("change", onInput);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void submitReport();
  });
  form.addEventListener("click", (event) => {
    const target = event.target as HTMLElement;
    const goto = target.closest<HTMLElement>("[data-goto]");
    if (goto) {
      event.preventDefault();
      const control = document.getElementById(goto.dataset.goto ?? "");
      if (control) goToControl(control);
      return;
    }
    if (target.dataset.removePayment !== undefined) {
      draft.payments.splice(Number(target.dataset.removePayment), 1);
      renderPayments();
      saveDraft();
      $("payment-add").focus();
    } else if (target.dataset.removeIdentifier !== undefined) {
      draft.identifiers.splice(Number(target.dataset.removeIdentifier), 1);
      renderIdentifiers();
      saveDraft();
      $("identifier-add").focus();
    }
  });
  $("next").addEventListener("click", () => {
    showStep(draft.step + 1);
    saveDraft();
  });
  $("back").addEventListener("click", () => {
    showStep(draft.step - 1);
    saveDraft();
  });
  $("payment-add").addEventListener("click", () => {
    draft.payments.push(emptyPayment());
    renderPayments();
    saveDraft();
    document.getElementById(`pay-${draft.payments.length - 1}-amount`)?.focus();
  });
  $("identifier-add").addEventListener("click", () => {
    draft.identifiers.push({ type: "phone", value: "" });
    renderIdentifiers();
    saveDraft();
    document.getElementById(`id-${draft.identifiers.length - 1}-type`)?.focus();
  });
  $("draft-clear").addEventListener("click", () => {
    localStorage.removeItem(DRAFT_KEY);
    draft = emptyDraft(config.country ?? "");
    lastChecks.clear();
    $("draft-notice").hidden = true;
    renderAll();
    $("step1-title").focus();
  });
  $("lang-switch").addEventListener("click", () => setLanguage(lang() === "fr" ? "en" : "fr"));
  $("done-download").addEventListener("click", download);
  $("done-written").addEventListener("change", () => {
    ($("done-finish") as HTMLButtonElement).disabled = !($("done-written") as HTMLInputElement).checked;
  });
  $("done-finish").addEventListener("click", () => {
    ($("followup-reference") as HTMLInputElement).value = shown?.reference ?? "";
    shown = undefined;
    $("done-reference").textContent = "";
    $("done-secret").textContent = "";
    lastChecks.clear();
    renderAll();
    showView("followup");
    window.location.hash = "#/suivi";
    $("followup-title").focus();
  });
  $("followup-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void openFollowUp();
  });
  $("add-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void addDetails();
  });
  window.addEventListener("hashchange", route);
}

void start();
