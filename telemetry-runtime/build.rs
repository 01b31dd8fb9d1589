//! Sets `provider_before_main` on targets whose binaries run constructors
//! from `.init_array` (ELF) or `__mod_init_func` (Apple): there the global
//! meter provider is installed before `main`.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(provider_before_main)");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let family = std::env::var("CARGO_CFG_TARGET_FAMILY").unwrap_or_default();
    let constructors = matches!(
        os.as_str(),
        "linux"
            | "android"
            | "freebsd"
            | "netbsd"
            | "openbsd"
            | "dragonfly"
            | "illumos"
            | "solaris"
            | "macos"
            | "ios"
    );
    if constructors && family == "unix" {
        println!("cargo::rustc-cfg=provider_before_main");
    }
}
