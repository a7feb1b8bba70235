//! Prints the TOTP code of the Rust core, for cross-checking other
//! implementations (the browser authenticator's test calls it):
//!
//! ```text
//! cargo run -q -p otp --example code -- <BASE32> <SHA1|SHA256|SHA512> <digits> <period> <unix_time>
//! ```

use std::error::Error;

use otp::{Algorithm, Digits, Period, Secret, Totp};

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [secret, algorithm, digits, period, time] = args.as_slice() else {
        return Err("usage: code <BASE32> <SHA1|SHA256|SHA512> <digits> <period> <unix_time>".into());
    };
    let totp = Totp::new(
        Secret::from_base32(secret)?,
        algorithm.parse::<Algorithm>()?,
        Digits::new(digits.parse()?)?,
        Period::new(period.parse()?)?,
    );
    println!("{}", totp.code_at(time.parse()?));
    Ok(())
}
