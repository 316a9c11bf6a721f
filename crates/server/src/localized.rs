//! Answers in the caller's language: `google.rpc.LocalizedMessage` beside the English message of
//! every refusal a victim can meet, and a localized message on every `BadRequest` field
//! violation (`FieldViolation.localized_message`), in French or English.
//!
//! The language comes from the request's `accept-language` metadata (a browser sends it; a page
//! can set it to its own language). [`LocalizeLayer`] reads it once per call and keeps it in a
//! task-local for [`current`], which [`crate::error::invalid_argument`] reads; after the call the
//! layer adds a `LocalizedMessage` to any error answer that has none, from its code and method.
//! The English `grpc-message` and the stable reason codes stay as they were: clients that read
//! them see no change.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::HeaderValue;
use prost::Message;
use tonic::Code;

/// A language the server answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// English, the default.
    En,
    /// French.
    Fr,
}

/// Bytes of `accept-language` read at most; a longer header is read up to there.
const ACCEPT_LANGUAGE_MAX_BYTES: usize = 256;

tokio::task_local! {
    static LANGUAGE: Language;
}

impl Language {
    /// The language an `accept-language` value prefers among those served (highest quality first,
    /// then header order), English when it names none of them.
    ///
    /// Written here rather than taken from a crate: only the primary subtag and the quality of
    /// each range matter for two languages, and the header is read up to a bound.
    pub fn from_accept_language(header: Option<&HeaderValue>) -> Language {
        let Some(text) = header.and_then(|h| h.to_str().ok()) else { return Language::En };
        let text = match text.char_indices().nth(ACCEPT_LANGUAGE_MAX_BYTES) {
            Some((cut, _)) => &text[..cut],
            None => text,
        };
        let mut best: Option<(u16, Language)> = None;
        for range in text.split(',') {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let primary = tag.split('-').next().unwrap_or("");
            let language = if primary.eq_ignore_ascii_case("fr") {
                Language::Fr
            } else if primary.eq_ignore_ascii_case("en") {
                Language::En
            } else {
                continue;
            };
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .next()
                .and_then(|q| q.trim().parse::<f32>().ok())
                .map_or(1000, |q| (q.clamp(0.0, 1.0) * 1000.0) as u16);
            if quality > 0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, language));
            }
        }
        best.map_or(Language::En, |(_, l)| l)
    }

    /// The BCP 47 tag of the language.
    pub fn locale(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Fr => "fr",
        }
    }
}

/// The language of the call being served (English outside one).
pub fn current() -> Language {
    LANGUAGE.try_with(|l| *l).unwrap_or(Language::En)
}

/// Runs `f` as a call in `language` would run (tests, and callers outside the layer).
pub fn in_language<R>(language: Language, f: impl FnOnce() -> R) -> R {
    LANGUAGE.sync_scope(language, f)
}

/// The message a victim reads next to a field with violation `reason`. `description` is the
/// English description, whose number (a length or count bound) the texts that need one repeat.
pub fn field_message(language: Language, reason: &str, description: &str) -> String {
    let bound = description.split(|c: char| !c.is_ascii_digit()).find(|d| !d.is_empty() && d.len() <= 12).unwrap_or("");
    let (en, fr): (String, String) = match reason {
        "REQUIRED" => ("This field is required.".into(), "Ce champ est obligatoire.".into()),
        "TOO_LONG" => (
            format!("This text is too long (at most {bound} characters)."),
            format!("Ce texte est trop long (au plus {bound} caractères)."),
        ),
        "TOO_MANY" => (format!("Too many entries (at most {bound})."), format!("Trop d'entrées (au plus {bound}).")),
        "UNKNOWN_VALUE" => {
            ("Choose one of the values offered.".into(), "Choisissez l'une des valeurs proposées.".into())
        }
        "INVALID_TIMESTAMP" => ("This date is not valid.".into(), "Cette date n'est pas valide.".into()),
        "TOO_EARLY" => ("This date is too far in the past.".into(), "Cette date est trop ancienne.".into()),
        "IN_FUTURE" => {
            ("This date must not be in the future.".into(), "Cette date ne peut pas être dans le futur.".into())
        }
        "BEFORE_FIRST_CONTACT" => (
            "The last contact cannot be before the first one.".into(),
            "Le dernier contact ne peut pas précéder le premier.".into(),
        ),
        "NOTHING_TO_ADD" => (
            "Add a payment, an identifier or a few words.".into(),
            "Ajoutez un paiement, un identifiant ou quelques mots.".into(),
        ),
        "INVALID_CHARACTERS" => (
            "This contains characters that are not allowed.".into(),
            "Ceci contient des caractères non autorisés.".into(),
        ),
        "COUNTRY_UNKNOWN" => (
            "Unknown country: give a two-letter country code, such as GB.".into(),
            "Pays inconnu : donnez un code pays à deux lettres, par exemple FR.".into(),
        ),
        "NOT_POSITIVE" => {
            ("The amount must be greater than zero.".into(), "Le montant doit être supérieur à zéro.".into())
        }
        "TOO_LARGE" => ("This amount is too large.".into(), "Ce montant est trop élevé.".into()),
        "NOT_A_DECIMAL" => (
            "Write the amount with digits and at most one point, such as 10 or 0.5.".into(),
            "Écrivez le montant en chiffres avec au plus un point, par exemple 10 ou 0.5.".into(),
        ),
        "TOO_PRECISE" => (
            "This amount has more decimals than the currency allows.".into(),
            "Ce montant a plus de décimales que la devise n'en permet.".into(),
        ),
        "TOO_MANY_DIGITS" => ("This amount has too many digits.".into(), "Ce montant a trop de chiffres.".into()),
        "AMOUNT_MISMATCH" => {
            ("The two amounts given do not agree.".into(), "Les deux montants donnés ne concordent pas.".into())
        }
        "CURRENCY_UNKNOWN" => (
            "Unknown currency: give a code such as EUR, GBP or BTC.".into(),
            "Devise inconnue : donnez un code comme EUR, USD ou BTC.".into(),
        ),
        "INVALID_REFERENCE" => (
            "This reference does not look right (it reads like ST-7K3M-9QXD).".into(),
            "Cette référence n'a pas le bon format (elle ressemble à ST-7K3M-9QXD).".into(),
        ),
        "OUT_OF_RANGE" => {
            ("This value is out of the allowed range.".into(), "Cette valeur sort des limites permises.".into())
        }
        _ => ("This value is not accepted.".into(), "Cette valeur n'est pas acceptée.".into()),
    };
    match language {
        Language::En => en,
        Language::Fr => fr,
    }
}

/// The summary of a rejection naming `fields` bad fields.
pub fn invalid_summary(language: Language, fields: usize) -> String {
    match (language, fields) {
        (Language::En, 1) => "One answer needs to be corrected.".into(),
        (Language::En, n) => format!("{n} answers need to be corrected."),
        (Language::Fr, 1) => "Une réponse est à corriger.".into(),
        (Language::Fr, n) => format!("{n} réponses sont à corriger."),
    }
}

/// What a victim is told of a refusal with `code` to a call of `path`, `retry` the wait a
/// `RetryInfo` gave.
pub fn refusal(language: Language, code: Code, path: &str, retry: Option<Duration>) -> (String, String) {
    let follow_up = path.ends_with("/GetReportStatus") || path.ends_with("/AddReportDetails");
    let seconds = retry.map_or(1, |d| d.as_secs_f64().ceil().max(1.0) as u64);
    let (en, fr): (String, String) = match code {
        Code::ResourceExhausted => (
            format!("Too many attempts. Please wait {seconds} s, then try again."),
            format!("Trop de tentatives. Patientez {seconds} s, puis réessayez."),
        ),
        Code::NotFound if follow_up => (
            "No report matches this reference and secret. Check both and try again.".into(),
            "Aucun signalement ne correspond à cette référence et à ce code secret. Vérifiez-les et réessayez.".into(),
        ),
        Code::NotFound => ("Not found.".into(), "Introuvable.".into()),
        Code::Unauthenticated => (
            "This page's access key is not valid. Please contact the organisation that runs it.".into(),
            "La clé d'accès de cette page n'est pas valide. Contactez l'organisme qui la gère.".into(),
        ),
        Code::PermissionDenied if !path.starts_with("/scamtrail.v1.IntakeService/") => {
            ("You are not allowed to do this.".into(), "Vous n'êtes pas autorisé à faire ceci.".into())
        }
        Code::PermissionDenied => (
            "This page is not allowed to send reports from where it is. Please contact the organisation that runs it."
                .into(),
            "Cette page n'est pas autorisée à envoyer des signalements depuis cet endroit. Contactez l'organisme qui la gère."
                .into(),
        ),
        Code::FailedPrecondition if follow_up => (
            "Details were added to this report as many times as it takes. Please contact the organisation directly."
                .into(),
            "Ce signalement a reçu autant d'ajouts qu'il le peut. Contactez directement l'organisme.".into(),
        ),
        Code::AlreadyExists => (
            "This form was already sent with other answers. Start a new report.".into(),
            "Ce formulaire a déjà été envoyé avec d'autres réponses. Commencez un nouveau signalement.".into(),
        ),
        Code::InvalidArgument => (
            "The request could not be read. Check your answers and try again.".into(),
            "La demande n'a pas pu être lue. Vérifiez vos réponses et réessayez.".into(),
        ),
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Aborted => (
            "The service is busy or restarting. Your answers are kept; try again in a moment.".into(),
            "Le service est occupé ou redémarre. Vos réponses sont conservées ; réessayez dans un instant.".into(),
        ),
        _ => (
            "Something went wrong on our side. Your answers are kept; try again later.".into(),
            "Un problème est survenu de notre côté. Vos réponses sont conservées ; réessayez plus tard.".into(),
        ),
    };
    match language {
        Language::En => (Language::En.locale().to_owned(), en),
        Language::Fr => (Language::Fr.locale().to_owned(), fr),
    }
}

const LOCALIZED_MESSAGE_TYPE: &str = "type.googleapis.com/google.rpc.LocalizedMessage";
const RETRY_INFO_TYPE: &str = "type.googleapis.com/google.rpc.RetryInfo";

/// Bytes of `grpc-status-details-bin` (in base64) that the layer reads at most; the server's own
/// details stay far below it.
const DETAILS_HEADER_MAX_BYTES: usize = 16 * 1024;

/// Adds a `LocalizedMessage` to the details of an error answer carried in its headers (a
/// trailers-only answer, as every unary refusal of this server is) that has none. Answers whose
/// status is in the trailers (streams) are left as they are.
fn localize_headers(headers: &mut http::HeaderMap, language: Language, path: &str) {
    let Some(status) = headers.get("grpc-status").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<i32>().ok())
    else {
        return;
    };
    if status == 0 || headers.get("grpc-status-details-bin").is_some_and(|v| v.len() > DETAILS_HEADER_MAX_BYTES) {
        return;
    }
    let Some(status) = tonic::Status::from_header_map(headers) else { return };
    let Ok(mut details) = tonic_types::pb::Status::decode(status.details()) else { return };
    if details.details.iter().any(|any| any.type_url == LOCALIZED_MESSAGE_TYPE) {
        return;
    }
    if details.code == 0 && details.message.is_empty() {
        details.code = status.code() as i32;
        details.message = status.message().to_owned();
    }
    let retry = details
        .details
        .iter()
        .find(|any| any.type_url == RETRY_INFO_TYPE)
        .and_then(|any| tonic_types::pb::RetryInfo::decode(any.value.as_slice()).ok())
        .and_then(|r| r.retry_delay)
        .and_then(|d| Duration::try_from(d).ok());
    let (locale, message) = refusal(language, status.code(), path, retry);
    details.details.push(prost_types::Any {
        type_url: LOCALIZED_MESSAGE_TYPE.to_owned(),
        value: tonic_types::pb::LocalizedMessage { locale, message }.encode_to_vec(),
    });
    let localized =
        tonic::Status::with_details(status.code(), status.message().to_owned(), details.encode_to_vec().into());
    if let Err(e) = localized.add_header(headers) {
        tracing::warn!(error = %e, "cannot write a localized status");
    }
}

/// The layer: the caller's language for the call, and a localized message on its refusals.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalizeLayer;

impl<S> tower::Layer<S> for LocalizeLayer {
    type Service = Localize<S>;
    fn layer(&self, inner: S) -> Localize<S> {
        Localize { inner }
    }
}

/// The service [`LocalizeLayer`] makes.
#[derive(Debug, Clone)]
pub struct Localize<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for Localize<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        // The clone that was polled ready serves this call; a fresh clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let language = Language::from_accept_language(request.headers().get(http::header::ACCEPT_LANGUAGE));
        let path = request.uri().path().to_owned();
        Box::pin(async move {
            let mut response = LANGUAGE.scope(language, inner.call(request)).await?;
            localize_headers(response.headers_mut(), language, &path);
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(header: &str) -> Language {
        Language::from_accept_language(Some(&HeaderValue::from_str(header).unwrap()))
    }

    #[test]
    fn the_preferred_served_language_wins() {
        assert_eq!(Language::from_accept_language(None), Language::En);
        assert_eq!(lang("fr"), Language::Fr);
        assert_eq!(lang("fr-FR,fr;q=0.9,en;q=0.8"), Language::Fr);
        assert_eq!(lang("en-GB,fr;q=0.5"), Language::En);
        assert_eq!(lang("de-DE,fr;q=0.7,en;q=0.3"), Language::Fr);
        assert_eq!(lang("en;q=0.2,FR-ca;q=0.9"), Language::Fr);
        assert_eq!(lang("fr;q=0,en;q=0.1"), Language::En);
        assert_eq!(lang("de, es"), Language::En);
        assert_eq!(lang(&format!("{},fr", "x".repeat(10_000))), Language::En);
    }

    #[test]
    fn every_victim_violation_reason_has_french_words() {
        let generic = field_message(Language::Fr, "SOMETHING_NEW", "");
        for reason in [
            "REQUIRED",
            "TOO_LONG",
            "TOO_MANY",
            "UNKNOWN_VALUE",
            "INVALID_TIMESTAMP",
            "TOO_EARLY",
            "IN_FUTURE",
            "BEFORE_FIRST_CONTACT",
            "NOTHING_TO_ADD",
            "INVALID_CHARACTERS",
            "COUNTRY_UNKNOWN",
            "NOT_POSITIVE",
            "TOO_LARGE",
            "CURRENCY_UNKNOWN",
            "INVALID_REFERENCE",
            "OUT_OF_RANGE",
        ] {
            let fr = field_message(Language::Fr, reason, "at most 200 characters");
            assert_ne!(fr, generic, "{reason}");
            assert_ne!(fr, field_message(Language::En, reason, "at most 200 characters"), "{reason}");
        }
        assert_eq!(
            field_message(Language::Fr, "TOO_LONG", "at most 20000 characters"),
            "Ce texte est trop long (au plus 20000 caractères)."
        );
    }
}
