// The report page in a real browser: Debian's chromium, driven by playwright-core, against a real
// `scamtrail serve --web-dir` on SQLite. A victim reports in French on a phone-sized screen (an
// IBAN typed with spaces, a national phone number, a defanged web address), sees the live checks,
// meets a bad amount and a lost connection, and gets a reference and follow-up code; an
// investigator reads every field back over gRPC (grpcurl); the victim adds a detail on the
// follow-up page; axe-core finds no serious or critical problem on any view. A second victim's
// answer is lost after the server stored the report: the retry makes no second one.
//
// Needs: target/debug/scamtrail (or $SCAMTRAIL_BIN), web/dist built (`npm run build`), chromium
// at /usr/bin/chromium (or $CHROMIUM), grpcurl and python3 on PATH. Screenshots of every step go
// to web/test-results/.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = path.resolve(WEB, "..");
const BIN = process.env.SCAMTRAIL_BIN || path.join(ROOT, "target/debug/scamtrail");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = path.join(WEB, "test-results");
const PASSWORD = "Enquete-page-2026!";
const AXE = readFileSync(path.join(WEB, "node_modules/axe-core/axe.min.js"), "utf8");

const IBAN = "FR76 3000 6000 0112 3456 7890 189";
const PHONE = "06 12 34 56 78";
const SITE = "hxxps://faux-placement[.]fr/connexion";

let dir, origin, server, browser, investigatorToken;
// The page served by another static server, on another origin: gRPC-Web through CORS.
let elsewhere, elsewhereOrigin;

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Runs the scamtrail CLI on the test's database; returns its stdout. */
function cli(args, input) {
  return execFileSync(BIN, [...args, "--database-url", `sqlite://${dir}/scamtrail.db`], {
    env: { ...process.env, SCAMTRAIL_AUDIT_KEY_FILE: path.join(dir, "audit.key"), SCAMTRAIL_LOG: "warn" },
    input,
    encoding: "utf8",
  }).trim();
}

function grpcurl(method, body, token) {
  const args = ["-plaintext", "-max-time", "20"];
  if (token) args.push("-H", `authorization: Bearer ${token}`);
  args.push("-d", JSON.stringify(body), new URL(origin).host, method);
  return JSON.parse(execFileSync("grpcurl", args, { encoding: "utf8" }));
}

function reportCount() {
  const script = "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM reports').fetchone()[0])";
  return Number(execFileSync("python3", ["-c", script, path.join(dir, "scamtrail.db")], { encoding: "utf8" }).trim());
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** axe-core on the page as it is: no serious or critical violation. */
async function accessible(page, where) {
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const result = await globalThis.axe.run(document);
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
  assert.deepEqual(violations, [], `axe-core on ${where}`);
}

before(async () => {
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(path.join(tmpdir(), "scamtrail-page-"));
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  const site = path.join(dir, "site");
  cpSync(path.join(WEB, "dist"), site, { recursive: true });
  const key = cli(["key", "create", "--name", "report-page", "--role", "intake", "--origin", origin]);
  writeFileSync(path.join(site, "config.json"), JSON.stringify({ intakeKey: key, country: "FR" }));
  const elsewherePort = await freePort();
  elsewhereOrigin = `http://127.0.0.1:${elsewherePort}`;
  const otherSite = path.join(dir, "other-site");
  cpSync(path.join(WEB, "dist"), otherSite, { recursive: true });
  const otherKey = cli(["key", "create", "--name", "partner-page", "--role", "intake", "--origin", elsewhereOrigin]);
  writeFileSync(path.join(otherSite, "config.json"), JSON.stringify({ intakeKey: otherKey, serverUrl: origin, country: "FR" }));
  const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json" };
  elsewhere = createHttpServer((req, res) => {
    const name = new URL(req.url, elsewhereOrigin).pathname === "/" ? "index.html" : path.basename(new URL(req.url, elsewhereOrigin).pathname);
    try {
      const body = readFileSync(path.join(otherSite, name));
      res.writeHead(200, { "content-type": types[path.extname(name)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => elsewhere.listen(elsewherePort, "127.0.0.1", resolve));
  cli(["user", "create", "--name", "enqueteur", "--role", "investigator"], `${PASSWORD}\n`);
  server = spawn(
    BIN,
    ["serve", "--listen", `127.0.0.1:${port}`, "--database-url", `sqlite://${dir}/scamtrail.db`, "--web-dir", site,
      "--card-key-file", path.join(dir, "card.key"), "--audit-key-file", path.join(dir, "audit.key"),
      "--data-key-file", path.join(dir, "data.key"),
      "--cors-origin", elsewhereOrigin],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, SCAMTRAIL_LOG: "warn" } },
  );
  let log = "";
  server.stderr.on("data", (chunk) => (log += chunk));
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${origin}/`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 300) throw new Error(`the server did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  investigatorToken = grpcurl("scamtrail.v1.AuthService/Login", { user_name: "enqueteur", password: PASSWORD }).token;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  elsewhere?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("a victim reports in French, an investigator reads every field, the victim follows up", async () => {
  const context = await browser.newContext({ locale: "fr-FR", viewport: { width: 390, height: 844 }, acceptDownloads: true });
  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && !/Failed to load resource|ERR_INTERNET_DISCONNECTED/.test(m.text()) && pageErrors.push(m.text()));
  await page.goto(`${origin}/`);
  await assert.doesNotReject(page.getByRole("heading", { level: 1, name: "Signaler une arnaque" }).waitFor());
  assert.equal(await page.getAttribute("html", "lang"), "fr");
  await shot(page, "01-etape1-formulaire");
  await accessible(page, "step 1");

  // Keyboard: the first Tab reaches the language switch, with a visible focus ring.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "lang-switch");
  const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(ring, "none", "focus is visible");

  // Step 1: what happened.
  await page.getByLabel("De quel type d'arnaque s'agit-il ?").selectOption("INVESTMENT");
  await page.getByLabel("Quand vous ont-ils contacté la première fois ?").fill("2026-10-01");
  await page.getByLabel("Quand vous ont-ils contacté la dernière fois ?").fill("2026-11-20");
  const narrative = "Un conseiller m'a appelé pour un placement garanti. J'ai viré de l'argent puis il a disparu.";
  await page.getByLabel("Ce qui s'est passé, avec vos mots").fill(narrative);
  await shot(page, "02-etape1-rempli");
  // Keyboard only: from the narrative, Tab reaches "Suivant", Enter moves on, and the focus goes
  // to the next step's heading; Space ticks a box.
  await page.locator("#narrative").focus();
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "next");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "step2-title");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "channel-PHONE_CALL");
  await page.keyboard.press("Space");
  assert.ok(await page.getByLabel("Appel téléphonique").isChecked());

  // Step 2: how they made contact.
  await page.getByLabel("WhatsApp").check();
  await page.getByLabel("Oui, ils me contactent encore").check();
  await shot(page, "03-etape2-contact");
  await page.getByRole("button", { name: "Suivant" }).click();

  // Step 3: a payment; the amount is wrong on purpose (zero).
  await page.getByLabel("Montant").fill("0");
  await page.getByLabel("Devise").selectOption("EUR");
  await page.getByLabel("Comment avez-vous payé ?").selectOption("BANK_TRANSFER");
  await page.getByLabel("Date du paiement").fill("2026-10-15");
  await page.locator("#pay-0-destination").fill(IBAN);
  await page.locator("#pay-0-destination-check", { hasText: "IBAN France, clé de contrôle correcte : FR76 3000 6000 0112 3456 7890 189" }).waitFor();
  await shot(page, "04-etape3-paiement-iban");
  await page.getByRole("button", { name: "Suivant" }).click();

  // Step 4: the scammers' number, their site, and a card number the page warns about.
  await page.locator("#id-0-type").selectOption("phone");
  await page.locator("#id-0-value").fill(PHONE);
  await page.locator("#id-0-value-check", { hasText: "Numéro de mobile (France) : +33 6 12 34 56 78" }).waitFor();
  await page.getByRole("button", { name: "Ajouter une autre coordonnée" }).click();
  await page.locator("#id-1-type").selectOption("website");
  await page.locator("#id-1-value").fill(SITE);
  await page.locator("#id-1-value-check", { hasText: "Site web : https://faux-placement.fr/connexion" }).waitFor();
  await page.getByRole("button", { name: "Ajouter une autre coordonnée" }).click();
  await page.locator("#id-2-type").selectOption("other");
  await page.locator("#id-2-value").fill("4111 1111 1111 1111");
  await page.locator("#id-2-value-check", { hasText: "Cela ressemble à un numéro de carte : n'entrez pas de numéro de carte complet." }).waitFor();
  // What was understood of the earlier values stays shown as the list grows.
  assert.equal(await page.locator("#id-0-value-check").textContent(), "Numéro de mobile (France) : +33 6 12 34 56 78");
  await shot(page, "05-etape4-verification-en-direct");
  await accessible(page, "step 4 with live checks");
  await page.getByRole("button", { name: "Retirer la coordonnée 3" }).click();
  await page.getByRole("button", { name: "Suivant" }).click();

  // Step 5: the victim.
  await page.getByLabel("Votre nom").fill("Jeanne Exemple");
  await page.getByLabel("Votre adresse e-mail").fill("jeanne@example.org");
  await page.getByLabel("Votre numéro de téléphone").fill("06 98 76 54 32");
  assert.equal(await page.getByLabel("Pays où vous habitez").inputValue(), "FR");
  await page.getByLabel("J'accepte que ce signalement soit transmis à la police.").check();
  await shot(page, "06-etape5-vous");
  await page.getByRole("button", { name: "Suivant" }).click();
  await shot(page, "07-etape6-verifier");

  // Send: the server refuses the amount, in French, next to the amount field.
  await page.getByRole("button", { name: "Envoyer mon signalement" }).click();
  const amountError = page.locator("#pay-0-amount-error");
  await amountError.waitFor();
  assert.equal(await amountError.textContent(), "Le montant doit être supérieur à zéro.");
  assert.equal(await page.locator("#pay-0-amount").getAttribute("aria-invalid"), "true");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "pay-0-amount", "the bad field has the focus");
  await page.locator("#error-list", { hasText: "Le montant doit être supérieur à zéro." }).waitFor();
  await shot(page, "08-montant-refuse");
  await accessible(page, "the refused amount");
  assert.equal(reportCount(), 0);
  const draftId = await page.evaluate(() => JSON.parse(localStorage.getItem("scamtrail-report-draft")).clientRequestId);

  // Fix it, go back to the end, and lose the connection while sending.
  await page.getByLabel("Montant").fill("2 500,50");
  for (let i = 0; i < 3; i++) await page.getByRole("button", { name: "Suivant" }).click();
  await context.setOffline(true);
  await page.getByRole("button", { name: "Envoyer mon signalement" }).click();
  await page.locator("#submit-problem", { hasText: "La connexion a été perdue. Vos réponses sont conservées" }).waitFor();
  await shot(page, "09-connexion-perdue");
  await context.setOffline(false);
  // Nothing is lost, even across a reload; the retry carries the same client_request_id.
  await page.reload();
  await page.locator("#draft-notice", { hasText: "Nous avons repris les réponses" }).waitFor();
  assert.equal(await page.evaluate(() => JSON.parse(localStorage.getItem("scamtrail-report-draft")).clientRequestId), draftId);
  assert.equal(await page.locator("#narrative").inputValue(), narrative);
  assert.equal(await page.locator("#pay-0-amount").inputValue(), "2 500,50");
  assert.equal(await page.locator("#id-1-value").inputValue(), SITE);
  let sentIds = [];
  page.on("request", (r) => r.url().endsWith("/SubmitReport") && sentIds.push(r.postDataBuffer()?.includes(Buffer.from(draftId))));
  await page.getByRole("button", { name: "Envoyer mon signalement" }).click();

  // The reference and the follow-up code, shown once.
  await page.getByRole("heading", { level: 1, name: "Votre signalement a bien été reçu" }).waitFor();
  assert.deepEqual(sentIds, [true]);
  const reference = (await page.locator("#done-reference").textContent()).trim();
  const secret = (await page.locator("#done-secret").textContent()).trim();
  assert.match(reference, /^ST-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  assert.ok(secret.length >= 16, secret);
  assert.equal(await page.evaluate(() => localStorage.getItem("scamtrail-report-draft")), null, "the draft is gone once acknowledged");
  assert.equal(reportCount(), 1);
  await shot(page, "10-confirmation");
  await accessible(page, "the confirmation");
  assert.ok(await page.getByRole("button", { name: "Terminer" }).isDisabled());
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Télécharger ma référence et mon code" }).click()]);
  const saved = readFileSync(await download.path(), "utf8");
  assert.ok(saved.includes(reference) && saved.includes(secret), saved);

  // The investigator reads the report over gRPC and finds every field.
  const stored = grpcurl("scamtrail.v1.TriageService/GetReport", { reference }, investigatorToken).report;
  const r = stored.report;
  assert.equal(r.category, "SCAM_CATEGORY_INVESTMENT");
  assert.equal(r.narrative, narrative);
  assert.deepEqual(r.contactChannels, ["CONTACT_CHANNEL_PHONE_CALL", "CONTACT_CHANNEL_WHATSAPP"]);
  assert.equal(r.contactOngoing, true);
  assert.ok(r.firstContactAt.startsWith("2026-10-01") && r.lastContactAt.startsWith("2026-11-20"), JSON.stringify(r));
  assert.equal(r.payments.length, 1);
  assert.equal(r.payments[0].amountMinor, "250050");
  assert.equal(r.payments[0].currency, "EUR");
  assert.equal(r.payments[0].method, "PAYMENT_METHOD_BANK_TRANSFER");
  assert.ok(r.payments[0].paidAt.startsWith("2026-10-15"));
  assert.equal(r.payments[0].beneficiaries[0].value, IBAN);
  assert.deepEqual(r.victim, {
    name: "Jeanne Exemple",
    email: "jeanne@example.org",
    phone: "06 98 76 54 32",
    country: "FR",
    consentToShareWithPolice: true,
  });
  const keys = stored.identifiers.map((i) => i.outcome.normalized?.key);
  assert.deepEqual(keys, ["iban:FR7630006000011234567890189", "tel:+33612345678", "domain:faux-placement.fr"]);
  assert.deepEqual(stored.identifiers.map((i) => i.outcome.raw), [IBAN, PHONE, SITE]);

  // The follow-up page: a wrong code is refused in French, the right one shows the status.
  await page.getByLabel("J'ai noté ou téléchargé ma référence et mon code").check();
  await page.getByRole("button", { name: "Terminer" }).click();
  await page.getByRole("heading", { level: 1, name: "Suivre votre signalement" }).waitFor();
  assert.equal(await page.getByLabel("Référence", { exact: true }).inputValue(), reference);
  await page.getByLabel("Code de suivi", { exact: true }).fill("ABCD-EFGH-JKMN-PQRS");
  await page.getByRole("button", { name: "Voir l'état" }).click();
  await page.locator("#followup-problem", { hasText: "Aucun signalement ne correspond à cette référence et à ce code secret." }).waitFor();
  await page.getByLabel("Code de suivi", { exact: true }).fill(secret);
  await page.getByRole("button", { name: "Voir l'état" }).click();
  await page.locator("#followup-progress", { hasText: "Reçu : pas encore lu" }).waitFor();
  await page.getByLabel("Ce que vous voulez ajouter").fill("Ils m'ont rappelé hier depuis un autre numéro.");
  await page.locator("#add-id-value").fill("+33 7 81 23 45 67");
  await page.locator("#add-id-value-check", { hasText: "Numéro de mobile (France) : +33 7 81 23 45 67" }).waitFor();
  await page.getByRole("button", { name: "Ajouter ces précisions" }).click();
  await page.locator("#add-done", { hasText: "Vos précisions ont été ajoutées au signalement." }).waitFor();
  await page.locator("#followup-added", { hasText: "Précisions ajoutées : 1" }).waitFor();
  await shot(page, "11-suivi");
  await accessible(page, "the follow-up page");
  const after = grpcurl("scamtrail.v1.TriageService/GetReport", { reference }, investigatorToken).report;
  assert.ok(after.report.narrative.includes("Ils m'ont rappelé hier depuis un autre numéro."), after.report.narrative);
  assert.ok(after.identifiers.some((i) => i.outcome.normalized?.key === "tel:+33781234567"), JSON.stringify(after.identifiers));

  // Every text follows the language switch.
  await page.getByRole("button", { name: "Show this page in English" }).click();
  await page.getByRole("heading", { level: 1, name: "Follow up your report" }).waitFor();
  assert.equal(await page.getAttribute("html", "lang"), "en");
  await shot(page, "12-suivi-en-anglais");
  assert.deepEqual(pageErrors, []);
  await context.close();
});

test("an answer lost after the report was stored: the retry makes no second report", async () => {
  const before = reportCount();
  const context = await browser.newContext({ locale: "en-GB", viewport: { width: 1024, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  await page.getByRole("heading", { level: 1, name: "Report a scam" }).waitFor();
  await page.getByLabel("What kind of scam was it?").selectOption("TECH_SUPPORT");
  await page.getByLabel("What happened, in your own words").fill("A pop-up said my computer was locked and a man took control of it.");
  for (let i = 0; i < 5; i++) await page.getByRole("button", { name: "Next" }).click();
  // The server stores the report, but its answer never reaches the page.
  let cut = 0;
  await page.route("**/scamtrail.v1.IntakeService/SubmitReport", async (route) => {
    if (cut++ === 0) {
      await route.fetch();
      await route.abort("connectionreset");
    } else {
      await route.continue();
    }
  });
  await page.getByRole("button", { name: "Send my report" }).click();
  await page.locator("#submit-problem", { hasText: "The connection was lost." }).waitFor();
  assert.equal(reportCount(), before + 1);
  await page.getByRole("button", { name: "Try again" }).click();
  await page.getByRole("heading", { level: 1, name: "Your report has been received" }).waitFor();
  await page.locator("#done-replayed", { hasText: "This report had already been received." }).waitFor();
  assert.match(await page.locator("#done-reference").textContent(), /^ST-/);
  assert.equal(reportCount(), before + 1, "one report, not two");
  await shot(page, "13-reponse-perdue");
  await context.close();
});

test("the page served from another origin talks to the server through CORS", async () => {
  const context = await browser.newContext({ locale: "fr-FR" });
  const page = await context.newPage();
  await page.goto(`${elsewhereOrigin}/`);
  await page.getByRole("heading", { level: 1, name: "Signaler une arnaque" }).waitFor();
  for (let i = 0; i < 2; i++) await page.getByRole("button", { name: "Suivant" }).click();
  // A live check crosses origins with the key bound to this page's origin.
  await page.locator("#pay-0-destination").fill(IBAN);
  await page.locator("#pay-0-destination-check", { hasText: "IBAN France, clé de contrôle correcte" }).waitFor();
  // A refusal's details (grpc-status-details-bin) are readable across origins: French field messages.
  for (let i = 0; i < 3; i++) await page.getByRole("button", { name: "Suivant" }).click();
  await page.getByRole("button", { name: "Envoyer mon signalement" }).click();
  await page.locator("#category-error", { hasText: "Ce champ est obligatoire." }).waitFor();
  await page.locator("#narrative-error", { hasText: "Ce champ est obligatoire." }).waitFor();
  await shot(page, "14-autre-origine");
  await context.close();
});
