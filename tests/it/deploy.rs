//! The deployment files, checked by the tools that run them (no Docker engine runs on the
//! test machines): both compose files by `docker-compose config`, the balancer's
//! configuration by `haproxy -c`. `.ci/run` installs Debian's `docker-compose` and `haproxy`.

use std::path::Path;
use std::process::Command;

fn run(program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): install it (see .ci/run)"))
}

#[test]
fn the_compose_files_are_valid_and_the_ha_one_runs_three_instances_behind_a_balancer() {
    for file in ["docker-compose.yml", "docker-compose.ha.yml"] {
        let out = run("docker-compose", &["-f", file, "config", "-q"]);
        assert!(out.status.success(), "{file}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let out = run("docker-compose", &["-f", "docker-compose.ha.yml", "config", "--services"]);
    let services = String::from_utf8_lossy(&out.stdout);
    for service in ["postgres", "gatehouse-1", "gatehouse-2", "gatehouse-3", "balancer"] {
        assert!(services.lines().any(|s| s == service), "{service} in {services}");
    }
    let out = run("docker-compose", &["-f", "docker-compose.ha.yml", "config"]);
    let resolved = String::from_utf8_lossy(&out.stdout);
    assert!(resolved.contains("postgres://gatehouse:"), "the instances use PostgreSQL");
    assert!(resolved.contains("/health/ready"), "health checks");
    assert!(resolved.contains("GATEHOUSE_TRUSTED_PROXIES: 172.28.0.10"), "the balancer is trusted: {resolved}");
    assert!(resolved.contains("ipv4_address: 172.28.0.10"), "at the trusted address");
}

#[test]
fn the_balancer_configuration_is_valid_and_checks_readiness() {
    let out = run("haproxy", &["-c", "-f", "deploy/haproxy.cfg"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let config =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/haproxy.cfg")).expect("haproxy.cfg");
    assert!(config.contains("uri /health/ready"));
    assert_eq!(config.matches("\n    server gatehouse-").count(), 3);
}
