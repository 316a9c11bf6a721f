//! `AuthService` (sign in, sign out, who am I) and `AdminService` (the audit trail).

use std::sync::Arc;

use scamtrail_core::{Role, UnixMicros};
use scamtrail_proto::v1 as pb;
use scamtrail_store::CredentialKind;
use tonic::{Request, Response, Status};

use super::guard::{GuardState, caller, too_many};
use super::secrets;
use crate::error;
use crate::violations::Violations;
use crate::wire;

/// A role on the wire.
pub fn role_out(role: Option<Role>) -> i32 {
    (match role {
        None => pb::Role::Unspecified,
        Some(Role::Intake) => pb::Role::Intake,
        Some(Role::Investigator) => pb::Role::Investigator,
        Some(Role::Supervisor) => pb::Role::Supervisor,
        Some(Role::Liaison) => pb::Role::Liaison,
        Some(Role::Admin) => pb::Role::Admin,
    }) as i32
}

/// The authentication service.
pub struct AuthApi {
    state: Arc<GuardState>,
}

impl AuthApi {
    /// A service over the guard's state.
    pub fn new(state: Arc<GuardState>) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl pb::auth_service_server::AuthService for AuthApi {
    async fn login(&self, request: Request<pb::LoginRequest>) -> Result<Response<pb::LoginResponse>, Status> {
        let who = caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::default();
        let name = req.user_name.trim().to_owned();
        if name.is_empty() {
            v.required("user_name");
        }
        v.max_chars("user_name", &name, 64);
        if req.password.is_empty() {
            v.required("password");
        }
        v.max_chars("password", &req.password, secrets::PASSWORD_MAX_CHARS);
        v.finish(()).map_err(error::invalid_argument)?;
        who.target(format!("user:{name}"));
        let account = name.to_lowercase();
        // Throttled per account and address, so that guessing from one address cannot lock the
        // owner out from another (see GuessThrottle).
        self.state
            .sign_ins
            .attempt(&account, &who.address_key)
            .map_err(|wait| too_many(super::guard::Limit::SignInPerAccount, wait))?;
        let user = self.state.access.user(&name).await.map_err(error::store)?;
        let phc = user.as_ref().map(|u| u.password_hash.clone());
        let matched = self.state.hasher.verify(req.password, phc).await;
        let user = match user {
            Some(u) if matched && !u.disabled => u,
            _ => return Err(Status::unauthenticated("wrong user name or password")),
        };
        self.state.sign_ins.succeeded(&account, &who.address_key);
        who.became(&user.name, user.role);
        let token = secrets::new_token("sts_");
        let ttl = i64::try_from(self.state.config.session_ttl.as_micros()).unwrap_or(i64::MAX);
        let expires_at = UnixMicros(UnixMicros::now().0.saturating_add(ttl));
        self.state
            .access
            .create_session(user.id, &secrets::token_hash(&token), expires_at)
            .await
            .map_err(error::store)?;
        tracing::info!(user = %user.name, role = %user.role, "signed in");
        Ok(Response::new(pb::LoginResponse {
            token,
            expires_at: Some(wire::timestamp(expires_at)),
            role: role_out(Some(user.role)),
        }))
    }

    async fn logout(&self, request: Request<pb::LogoutRequest>) -> Result<Response<pb::LogoutResponse>, Status> {
        let who = caller(&request)?;
        match who.credential {
            Some((CredentialKind::Session, id)) => {
                self.state.access.end_session(id).await.map_err(error::store)?;
                self.state.forget(CredentialKind::Session, id);
                who.target(format!("user:{}", who.actor));
                Ok(Response::new(pb::LogoutResponse {}))
            }
            _ => Err(Status::failed_precondition("API keys do not sign out; revoke them with `scamtrail key revoke`")),
        }
    }

    async fn who_am_i(&self, request: Request<pb::WhoAmIRequest>) -> Result<Response<pb::WhoAmIResponse>, Status> {
        let who = caller(&request)?;
        Ok(Response::new(pb::WhoAmIResponse {
            name: who.actor.clone(),
            role: role_out(who.role),
            agency: who.agency.clone().unwrap_or_default(),
            expires_at: who.expires_at.map(wire::timestamp),
        }))
    }
}

/// The administration service.
pub struct AdminApi {
    state: Arc<GuardState>,
}

impl AdminApi {
    /// A service over the guard's state.
    pub fn new(state: Arc<GuardState>) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl pb::admin_service_server::AdminService for AdminApi {
    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        let req = request.into_inner();
        let mut v = Violations::default();
        let limit = match req.page_size {
            0 => 100,
            n if (1..=1_000).contains(&n) => n as u64,
            _ => {
                v.add("page_size", "OUT_OF_RANGE", "between 1 and 1,000");
                100
            }
        };
        if req.after_sequence < 0 {
            v.add("after_sequence", "OUT_OF_RANGE", "0 or a sequence number");
        }
        let actor = req.actor.trim();
        v.max_chars("actor", actor, 80);
        v.finish(()).map_err(error::invalid_argument)?;
        let actor = (!actor.is_empty()).then_some(actor);
        let rows = self.state.access.audit_events(req.after_sequence, limit, actor).await.map_err(error::store)?;
        let next = if rows.len() as u64 == limit { rows.last().map_or(0, |(e, _)| e.sequence) } else { 0 };
        Ok(Response::new(pb::ListAuditEventsResponse {
            events: rows
                .into_iter()
                .map(|(e, hash)| pb::AuditEvent {
                    sequence: e.sequence,
                    at: Some(wire::timestamp(e.at)),
                    actor: e.actor,
                    role: role_out(e.role.parse().ok()),
                    action: e.action,
                    targets: e.targets,
                    peer: e.peer,
                    outcome: e.outcome,
                    hash,
                })
                .collect(),
            next_after_sequence: next,
        }))
    }
}
