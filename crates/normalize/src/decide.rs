//! Choosing one outcome among the candidates' outcomes: shared by hint-less detection and by
//! wallet parsing (several chains may fit one address), which both call it and neither owns it.

use crate::rejection::Rejection;
use crate::types::Identifier;

/// Picks the outcome from the candidates' outcomes; `None` when there were none.
///
/// One success wins; several successes with different keys are an `AMBIGUOUS` rejection listing
/// them (never a guess); no success returns the first candidate's rejection, which callers order
/// from the most specific kind.
pub(crate) fn decide(outcomes: Vec<Result<Identifier, Rejection>>) -> Option<Result<Identifier, Rejection>> {
    let mut first_err = None;
    let mut found: Vec<Identifier> = Vec::new();
    for outcome in outcomes {
        match outcome {
            Ok(id) => {
                if !found.iter().any(|f| f.key == id.key) {
                    found.push(id);
                }
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match found.len() {
        0 => first_err.map(Err),
        1 => found.pop().map(Ok),
        _ => Some(Err(Rejection::ambiguous(found.iter().map(|f| f.kind).collect()))),
    }
}
