//! `--memory-budget`: the flag's text (`8G`, `512MiB`, `75%`, `none`) parsed into the library's
//! [`MemoryBudget`], here at the edge; the library takes the typed budget.

use codecbench::budget::{MAX_ALLOCATION, MemoryBudget};

/// The flag's help, shared by every command that takes it.
pub const HELP: &str = "The most memory one step may take — a population's rows, one codec's fit (as the codec declares it), a codec's codes — checked before anything is allocated: a SIZE with an optional K, M, G or T suffix (binary: 8G = 8 GiB; B and iB accepted), N% of the machine's memory, or `none` (only what one allocation can address) [default: 50% of MemTotal or of the cgroup memory limit, whichever is lower]";

/// Parse `--memory-budget`: `SIZE[K|M|G|T][i][B]`, `N%` (1..=100) or `none`.
pub fn parse(text: &str) -> Result<MemoryBudget, String> {
    let t = text.trim().to_ascii_lowercase();
    if t == "none" {
        return Ok(MemoryBudget::unlimited());
    }
    if let Some(p) = t.strip_suffix('%') {
        return match p.trim().parse::<u8>() {
            Ok(p) if (1..=100).contains(&p) => Ok(MemoryBudget::share(p)),
            _ => Err(format!(
                "'{text}': a percentage of the machine's memory must be an integer in 1..=100"
            )),
        };
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit = unit.trim();
    let unit = unit.strip_suffix('b').unwrap_or(unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let scale: u64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => {
            return Err(format!(
                "'{text}': expected a size such as 512M, 8G or 1.5T (K, M, G, T are powers of \
                 1024), a percentage such as 50%, or none"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}': expected a number before the unit (e.g. 8G)"))?;
    let bytes = value * scale as f64;
    if bytes < 1.0 {
        return Err(format!(
            "'{text}': the budget must be at least 1 byte (`none` for no budget)"
        ));
    }
    if bytes > MAX_ALLOCATION as f64 {
        return Err(format!(
            "'{text}': larger than one allocation can address; use `none` for no budget"
        ));
    }
    Ok(MemoryBudget::bytes(bytes as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_percentages_and_none_parse() {
        let b = |t: &str| parse(t).map(|b| b.limit());
        assert_eq!(b("8G"), Ok(8 << 30));
        assert_eq!(b("8gib"), Ok(8 << 30));
        assert_eq!(b("8 GB"), Ok(8 << 30));
        assert_eq!(b("512M"), Ok(512 << 20));
        assert_eq!(b("1.5K"), Ok(1536));
        assert_eq!(b("2T"), Ok(2 << 40));
        assert_eq!(b("1000"), Ok(1000));
        assert_eq!(b("none"), Ok(MAX_ALLOCATION));
        assert!(parse("50%").is_ok());
        for bad in [
            "",
            "0",
            "0G",
            "-1G",
            "8X",
            "G",
            "101%",
            "0%",
            "1e3G",
            "99999999999T",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
