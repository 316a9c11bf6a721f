//! TLS and mTLS round trips with grpcurl (a client we did not write), and a scenario whose
//! secrets are known, after which the server's debug log is searched for every one of them, in
//! any case and with any separators or none.

use std::path::Path;
use std::process::Command;

use scamtrail_e2e::{BACKENDS, TEST_PASSWORD, TestServer, request, sample_report};
use scamtrail_proto::v1 as pb;

fn openssl(dir: &Path, args: &[&str]) {
    let out =
        Command::new("openssl").current_dir(dir).args(args).output().expect("openssl (scripts/install-test-deps)");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA.
fn make_certificates(dir: &Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=scamtrail test CA"]);
    ca.extend(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(dir, &ca);
    for (name, usage, san) in
        [("server", "serverAuth", "IP:127.0.0.1,DNS:localhost"), ("client", "clientAuth", "DNS:client")]
    {
        let mut csr = vec!["req"];
        csr.extend(ec);
        let (key, req, ext, pem) =
            (format!("{name}.key"), format!("{name}.csr"), format!("{name}.ext"), format!("{name}.pem"));
        csr.extend(["-keyout", &key, "-out", &req, "-subj"]);
        let subject = format!("/CN={name}");
        csr.push(&subject);
        openssl(dir, &csr);
        std::fs::write(
            dir.join(&ext),
            format!(
                "subjectAltName={san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage={usage}\n"
            ),
        )
        .unwrap();
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &req,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "2",
                "-extfile",
                &ext,
            ],
        );
    }
}

/// Runs grpcurl; returns (success, stdout + stderr).
fn grpcurl(args: &[&str]) -> (bool, String) {
    let out = Command::new("grpcurl")
        .args(["-max-time", "4"])
        .args(args)
        .output()
        .expect("grpcurl (scripts/install-test-deps)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test]
async fn tls_and_mutual_tls_round_trips_with_grpcurl() {
    for backend in BACKENDS {
        let certs = tempfile::tempdir().unwrap();
        make_certificates(certs.path());
        let file = |name: &str| certs.path().join(name).display().to_string();
        let (cert, key, ca) = (file("server.pem"), file("server.key"), file("ca.pem"));

        let server = TestServer::start_with(backend, &["--tls-cert", &cert, "--tls-key", &key]).await.unwrap();
        let api_key = server.create_key("tls-frontend", "intake", None).unwrap();
        let bearer = format!("authorization: Bearer {api_key}");
        let (ok, out) =
            grpcurl(&["-cacert", &ca, "-H", &bearer, "-d", "{}", &server.addr, "scamtrail.v1.AuthService/WhoAmI"]);
        assert!(ok && out.contains("\"name\": \"key:tls-frontend\""), "{out}");
        let (ok, out) = grpcurl(&["-cacert", &ca, &server.addr, "list"]);
        assert!(ok && out.contains("scamtrail.v1.IntakeService"), "reflection over TLS: {out}");
        let (ok, _) =
            grpcurl(&["-plaintext", "-H", &bearer, "-d", "{}", &server.addr, "scamtrail.v1.AuthService/WhoAmI"]);
        assert!(!ok, "a TLS server does not answer plaintext");
        drop(server);

        let client_ca = file("ca.pem");
        let server =
            TestServer::start_with(backend, &["--tls-cert", &cert, "--tls-key", &key, "--client-ca", &client_ca])
                .await
                .unwrap();
        let api_key = server.create_key("police-system", "liaison", Some("Test Police")).unwrap();
        let bearer = format!("authorization: Bearer {api_key}");
        let call = ["-H", &bearer, "-d", "{}", &server.addr, "scamtrail.v1.AuthService/WhoAmI"];
        let (ok, out) = grpcurl(&[&["-cacert", &ca][..], &call].concat());
        assert!(!ok, "mTLS refuses a client without a certificate: {out}");
        let (client_cert, client_key) = (file("client.pem"), file("client.key"));
        let (ok, out) = grpcurl(&[&["-cacert", &ca, "-cert", &client_cert, "-key", &client_key][..], &call].concat());
        assert!(ok && out.contains("ROLE_LIAISON") && out.contains("Test Police"), "{out}");
    }
}

/// A log as it is searched for a value: in lower case, and with nothing but its letters and digits,
/// so that a value logged in another case or with other separators (or none) is found too.
fn searchable(log: &str) -> [String; 2] {
    let lower = log.to_lowercase();
    let bare = lower.chars().filter(|c| c.is_alphanumeric()).collect();
    [lower, bare]
}

/// The forms of a secret or a victim's value to look for in [`searchable`] text: as written, and
/// without its separators (dashes, spaces, dots, `@`); for a phone number also without its
/// trunk prefix, the part every normalised form of it (`+44 7700…`, `447700…`) contains.
fn forms_of(value: &str) -> Vec<String> {
    let lower = value.to_lowercase();
    let bare: String = lower.chars().filter(|c| c.is_alphanumeric()).collect();
    let mut forms = vec![lower, bare.clone()];
    if bare.chars().all(|c| c.is_ascii_digit()) {
        forms.push(bare.trim_start_matches('0').to_owned());
    }
    forms
}

#[tokio::test]
async fn no_secret_and_no_victim_contact_reaches_the_log() {
    for backend in BACKENDS {
        let mut server = TestServer::start_logging(backend, &[], "debug").await.unwrap();
        let mut secrets: Vec<String> = vec![TEST_PASSWORD.to_owned()];
        server.create_user("lena", "investigator", None, TEST_PASSWORD).unwrap();
        let session = server.login("lena", TEST_PASSWORD).await.unwrap();
        secrets.push(session.clone());
        let guess = "Wrong-guess-4711";
        secrets.push(guess.to_owned());
        assert!(server.login("lena", guess).await.is_err());
        let key = server.create_key("frontend-log", "intake", None).unwrap();
        secrets.push(key.clone());

        let mut intake = pb::intake_service_client::IntakeServiceClient::new(server.authed(&key).await);
        let submitted = intake.submit_report(request(sample_report(), "log-1")).await.unwrap().into_inner();
        secrets.push(submitted.follow_up_secret.clone());
        let status = pb::GetReportStatusRequest {
            reference: submitted.reference.clone(),
            secret: submitted.follow_up_secret.clone(),
        };
        intake.get_report_status(status).await.unwrap();
        let add = pb::AddReportDetailsRequest {
            reference: submitted.reference.clone(),
            secret: submitted.follow_up_secret.clone(),
            narrative: "He wrote to me again.".into(),
            ..Default::default()
        };
        intake.add_report_details(add).await.unwrap();
        let wrong =
            pb::GetReportStatusRequest { reference: submitted.reference.clone(), secret: "ABCD-EF01-2345".into() };
        secrets.push("ABCD-EF01-2345".into());
        assert!(intake.get_report_status(wrong).await.is_err());

        let mut triage = pb::triage_service_client::TriageServiceClient::new(server.authed(&session).await);
        let by_id =
            pb::GetReportRequest { selector: Some(pb::get_report_request::Selector::ReportId(submitted.report_id)) };
        triage.get_report(by_id).await.unwrap();
        let mut auth = pb::auth_service_client::AuthServiceClient::new(server.authed(&session).await);
        auth.logout(pb::LogoutRequest {}).await.unwrap();
        server.terminate().unwrap();

        let log = server.log();
        assert!(log.contains("report submitted") && log.contains("signed in"), "the log was written at debug level");
        let victim = sample_report().victim.unwrap();
        let victim_values = [&victim.email, &victim.name, &victim.phone, &victim.vulnerability_note];
        let texts = searchable(&log);
        for value in secrets.iter().chain(victim_values) {
            for form in forms_of(value) {
                assert!(!texts.iter().any(|text| text.contains(&form)), "{value:?} is in the log (as {form:?})");
            }
        }
        // Nor any token or key by its prefix.
        assert!(!log.contains("sts_") && !log.contains("stk_"), "a token prefix is in the log");
    }
}
