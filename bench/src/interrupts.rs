//! The guest kernel's own interruptions of one CPU over an interval, from `/proc/interrupts`
//! and `/proc/stat`: how much of what the hiccup meter sees is this kernel's doing.
//!
//! ```text
//! Counts::read(cpu) ─► (interval: the meter's spin, a row) ─► Counts::read(cpu) ─► since()
//!   /proc/interrupts, CPU<cpu> column:  LOC               → timer
//!                                       RES CAL TLB IWI   → ipi (reschedule, function call,
//!                                                            TLB shootdown, irq work)
//!                                       <number>:         → device
//!                                       any other name    → other (NMI, MCE, hypervisor, …)
//!                                       ERR MIS           → left out (system-wide counts)
//!   /proc/stat, cpu<cpu> line, 8th value → steal (USER_HZ ticks: time the hypervisor ran
//!                                          something else while this vCPU wanted to run)
//! ```
//!
//! Each of these interrupts takes the CPU away once, so over the same interval the meter's gaps
//! minus the guest's interrupts is a lower bound on the gaps this kernel did not cause: the
//! hypervisor's exits, the host's interrupts, another guest on the same core. A tuned host
//! (`isolcpus`, `nohz_full`, IRQs moved away: `tickwire hw verify`) removes the guest's share;
//! only the platform can remove the rest.
//!
//! Reading is two small procfs files per snapshot, outside any measured loop.

use std::time::Duration;

/// What one CPU's counters held at a moment (or, from [`Counts::since`], gained over an
/// interval).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Local timer interrupts (`LOC`): the scheduler tick and hrtimers.
    pub timer: u64,
    /// Inter-processor interrupts: reschedule, function call, TLB shootdown, irq work.
    pub ipi: u64,
    /// Device interrupts (the numbered rows: NICs, disks, consoles).
    pub device: u64,
    /// Every other named per-CPU row (NMI, machine checks, hypervisor callbacks, …).
    pub other: u64,
    /// Steal time in USER_HZ ticks (`/proc/stat`), `None` where the kernel does not report it.
    pub steal_ticks: Option<u64>,
}

/// Why the counters could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A file could not be read (its path and the error's text).
    Read(&'static str, String),
    /// `/proc/interrupts` has no column for the CPU (offline, or not a CPU of this machine).
    NoColumn(usize),
    /// `/proc/interrupts` does not start with a `CPU0 CPU1 …` header.
    NoHeader,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Read(path, e) => write!(f, "{path}: {e}"),
            Self::NoColumn(cpu) => write!(f, "/proc/interrupts has no column for CPU {cpu}"),
            Self::NoHeader => f.write_str("/proc/interrupts does not start with a CPU header"),
        }
    }
}

impl std::error::Error for Error {}

impl Counts {
    /// The counters of `cpu` now.
    ///
    /// # Errors
    /// [`Error`] when `/proc/interrupts` cannot be read or has no column for `cpu`
    /// (`/proc/stat` is optional: without it the steal time is `None`).
    pub fn read(cpu: usize) -> Result<Counts, Error> {
        let interrupts = std::fs::read_to_string("/proc/interrupts")
            .map_err(|e| Error::Read("/proc/interrupts", e.to_string()))?;
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        Counts::parse(&interrupts, &stat, cpu)
    }

    /// The counters of `cpu` in the texts of `/proc/interrupts` and `/proc/stat`.
    ///
    /// # Errors
    /// [`Error::NoHeader`] or [`Error::NoColumn`]; rows that do not parse are left out.
    pub fn parse(interrupts: &str, stat: &str, cpu: usize) -> Result<Counts, Error> {
        let mut lines = interrupts.lines();
        let header = lines.next().ok_or(Error::NoHeader)?;
        let columns: Vec<&str> = header.split_whitespace().collect();
        if columns.is_empty() || !columns.iter().all(|c| c.starts_with("CPU")) {
            return Err(Error::NoHeader);
        }
        let want = format!("CPU{cpu}");
        let column = columns
            .iter()
            .position(|c| *c == want)
            .ok_or(Error::NoColumn(cpu))?;
        let mut counts = Counts {
            steal_ticks: steal_ticks(stat, cpu),
            ..Counts::default()
        };
        for line in lines {
            let Some((name, rest)) = line.split_once(':') else {
                continue;
            };
            let name = name.trim();
            // ERR and MIS hold one system-wide count, not one per CPU (with one CPU they
            // would look like a per-CPU row).
            if matches!(name, "ERR" | "MIS") {
                continue;
            }
            let values: Vec<u64> = rest
                .split_whitespace()
                .take(columns.len())
                .map_while(|v| v.parse().ok())
                .collect();
            // A row without a value for every column is not a per-CPU row.
            if values.len() != columns.len() {
                continue;
            }
            let n = values[column];
            let class = if name == "LOC" {
                &mut counts.timer
            } else if matches!(name, "RES" | "CAL" | "TLB" | "IWI") {
                &mut counts.ipi
            } else if name.bytes().all(|b| b.is_ascii_digit()) {
                &mut counts.device
            } else {
                &mut counts.other
            };
            *class = class.saturating_add(n);
        }
        Ok(counts)
    }

    /// What the counters gained since `earlier` (0 for a counter that went back, as after a
    /// CPU hotplug).
    pub fn since(self, earlier: Counts) -> Counts {
        Counts {
            timer: self.timer.saturating_sub(earlier.timer),
            ipi: self.ipi.saturating_sub(earlier.ipi),
            device: self.device.saturating_sub(earlier.device),
            other: self.other.saturating_sub(earlier.other),
            steal_ticks: self
                .steal_ticks
                .zip(earlier.steal_ticks)
                .map(|(now, then)| now.saturating_sub(then)),
        }
    }

    /// Every interrupt counted: timer, IPIs, devices and the rest.
    pub fn total(&self) -> u64 {
        self.timer
            .saturating_add(self.ipi)
            .saturating_add(self.device)
            .saturating_add(self.other)
    }
}

/// The 8th value of the `cpu<cpu>` line of `/proc/stat` (steal), if there is one.
fn steal_ticks(stat: &str, cpu: usize) -> Option<u64> {
    let label = format!("cpu{cpu}");
    let line = stat
        .lines()
        .find(|l| l.split_whitespace().next() == Some(label.as_str()))?;
    line.split_whitespace().nth(8)?.parse().ok()
}

/// The guest's interrupts of one CPU over a measured interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The CPU.
    pub cpu: usize,
    /// How long the interval lasted.
    pub span: Duration,
    /// What the counters gained over it.
    pub counts: Counts,
}

impl Interval {
    /// `count` per second of [`Interval::span`] (0 for an empty span).
    pub fn per_second(&self, count: u64) -> f64 {
        let s = self.span.as_secs_f64();
        if s > 0.0 {
            count as f64 / s
        } else {
            0.0
        }
    }

    /// Steal time over the interval, ms (USER_HZ ticks of `ticks_per_s`).
    pub fn steal_ms(&self, ticks_per_s: u64) -> Option<f64> {
        let t = self.counts.steal_ticks?;
        (ticks_per_s > 0).then(|| t as f64 * 1000.0 / ticks_per_s as f64)
    }

    /// Of `gaps` seen over the same interval, how many at least the guest's interrupts cannot
    /// account for (each interrupt takes the CPU away once), per second.
    pub fn unexplained_per_second(&self, gaps: u64) -> f64 {
        self.per_second(gaps.saturating_sub(self.counts.total()))
    }
}

/// Counts `cpu`'s interrupts around `f` (the reads are outside it). `None` in the interval when
/// the counters cannot be read; `f` runs either way.
pub fn around<R>(cpu: usize, f: impl FnOnce() -> R) -> (R, Option<Interval>) {
    let before = Counts::read(cpu).ok();
    let start = std::time::Instant::now();
    let r = f();
    let span = start.elapsed();
    let interval = before.and_then(|b| {
        Counts::read(cpu).ok().map(|now| Interval {
            cpu,
            span,
            counts: now.since(b),
        })
    });
    (r, interval)
}

/// USER_HZ, the unit of `/proc/stat`'s times (100 on Linux unless the ABI says otherwise).
pub fn user_hz() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|v| u64::try_from(v).ok())
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const TWO_CPUS: &str = "           CPU0       CPU1       
 24:          1          0  IO-APIC   5-edge      ACPI:Ged
 36:          0     468036 PCI-MSIX-0000:00:02.0   1-edge      virtio1-req.0
 41:       3442          0 PCI-MSIX-0000:00:04.0   1-edge      virtio3-rx
NMI:          2          0   Non-maskable interrupts
LOC:    3345576    3480191   Local timer interrupts
SPU:          0          0   Spurious interrupts
RES:     175285     149086   Rescheduling interrupts
CAL:     959736     830313   Function call interrupts
TLB:     607221     595070   TLB shootdowns
IWI:          0          1   IRQ work interrupts
HYP:          7          9   Hypervisor callback interrupts
ERR:          0
MIS:          0
";

    const STAT: &str = "cpu  1359401 0 179040 727750 7965 0 19803 7244 0 0
cpu0 686618 0 91054 354847 2089 0 12481 3629 0 0
cpu1 672783 0 87986 372903 5876 0 7322 3615 0 0
intr 123
";

    #[test]
    fn each_row_goes_to_its_class_in_the_cpus_column() {
        let c = Counts::parse(TWO_CPUS, STAT, 0).unwrap();
        assert_eq!(
            c,
            Counts {
                timer: 3_345_576,
                ipi: 175_285 + 959_736 + 607_221,
                device: 1 + 3442,
                other: 2 + 7,
                steal_ticks: Some(3629),
            }
        );
        let c1 = Counts::parse(TWO_CPUS, STAT, 1).unwrap();
        assert_eq!((c1.timer, c1.device, c1.other), (3_480_191, 468_036, 9));
        assert_eq!(c1.ipi, 149_086 + 830_313 + 595_070 + 1);
        assert_eq!(c1.steal_ticks, Some(3615));
        assert_eq!(c.total(), c.timer + c.ipi + c.device + c.other);
    }

    #[test]
    fn a_cpu_without_a_column_or_a_text_without_a_header_is_an_error() {
        assert_eq!(Counts::parse(TWO_CPUS, STAT, 2), Err(Error::NoColumn(2)));
        // An offline CPU has no column: CPU1 missing, CPU2 present.
        let gap = "     CPU0  CPU2\nLOC:  5  7  Local timer interrupts\n";
        assert_eq!(Counts::parse(gap, "", 1), Err(Error::NoColumn(1)));
        assert_eq!(Counts::parse(gap, "", 2).unwrap().timer, 7);
        // With one CPU, the system-wide ERR and MIS rows have as many values as a per-CPU row.
        let one = "   CPU0\nLOC:  40  Local timer interrupts\nERR:  3\nMIS:  4\n";
        assert_eq!(Counts::parse(one, "", 0).unwrap().total(), 40);
        assert_eq!(Counts::parse("", "", 0), Err(Error::NoHeader));
        assert_eq!(
            Counts::parse("LOC: 1 2\n", "", 0),
            Err(Error::NoHeader),
            "a first line that is a row"
        );
    }

    #[test]
    fn garbage_rows_are_left_out_and_never_panic() {
        let text = "  CPU0 CPU1\nLOC: 10 x\nRES: 1\n: 5 5\nnot a row\nCAL: 18446744073709551615 0\nTLB: 1 0\n";
        let c = Counts::parse(text, "cpu0 1 2", 0).unwrap();
        assert_eq!(c.timer, 0, "LOC with a non-number is left out");
        assert_eq!(c.ipi, u64::MAX, "saturates instead of overflowing");
        assert_eq!(c.steal_ticks, None, "a short cpu0 line has no steal value");
        for cut in 0..TWO_CPUS.len() {
            if let Some(prefix) = TWO_CPUS.get(..cut) {
                let _ = Counts::parse(prefix, &STAT[..cut.min(STAT.len())], 0);
            }
        }
    }

    #[test]
    fn since_counts_the_gain_and_never_goes_below_zero() {
        let then = Counts {
            timer: 100,
            ipi: 10,
            device: 5,
            other: 1,
            steal_ticks: Some(3),
        };
        let now = Counts {
            timer: 350,
            ipi: 12,
            device: 4,
            other: 1,
            steal_ticks: Some(5),
        };
        assert_eq!(
            now.since(then),
            Counts {
                timer: 250,
                ipi: 2,
                device: 0,
                other: 0,
                steal_ticks: Some(2),
            }
        );
        let no_steal = Counts {
            steal_ticks: None,
            ..now
        };
        assert_eq!(no_steal.since(then).steal_ticks, None);
    }

    #[test]
    fn rates_steal_and_the_gaps_left_unexplained() {
        let i = Interval {
            cpu: 0,
            span: Duration::from_secs(2),
            counts: Counts {
                timer: 500,
                ipi: 20,
                device: 0,
                other: 0,
                steal_ticks: Some(3),
            },
        };
        assert_eq!(i.per_second(500), 250.0);
        assert_eq!(i.steal_ms(100), Some(30.0));
        assert_eq!(i.steal_ms(0), None);
        // 3000 gaps in 2 s, of which the 520 interrupts can explain at most 520.
        assert_eq!(i.unexplained_per_second(3000), 1240.0);
        assert_eq!(i.unexplained_per_second(100), 0.0, "never negative");
        let empty = Interval {
            span: Duration::ZERO,
            ..i
        };
        assert_eq!(empty.per_second(5), 0.0);
    }

    /// A `/proc/interrupts` row name and the class it counts in.
    fn row_name() -> impl proptest::strategy::Strategy<Value = (String, usize)> {
        use proptest::prelude::*;
        prop_oneof![
            Just(("LOC".to_string(), 0)),
            prop::sample::select(vec!["RES", "CAL", "TLB", "IWI"]).prop_map(|n| (n.to_string(), 1)),
            (0u32..512).prop_map(|n| (n.to_string(), 2)),
            prop::sample::select(vec!["NMI", "SPU", "PMI", "MCE", "HYP", "PIN", "THR"])
                .prop_map(|n| (n.to_string(), 3)),
        ]
    }

    proptest::proptest! {
        /// Any table: each row's value in the CPU's column lands in its class, whatever the
        /// other columns, the descriptions and the padding hold.
        #[test]
        fn a_generated_table_sums_by_class(
            cpus in 1usize..6,
            rows in proptest::collection::vec((row_name(), proptest::collection::vec(0u64..1 << 40, 6), "[ -~]{0,30}"), 0..40),
            pick in 0usize..6,
        ) {
            let cpu = pick % cpus;
            let mut text = String::from("   ");
            for c in 0..cpus {
                text.push_str(&format!("   CPU{c}"));
            }
            text.push('\n');
            let mut want = [0u64; 4];
            for ((name, class), values, desc) in &rows {
                text.push_str(&format!("{name:>4}:"));
                for v in &values[..cpus] {
                    text.push_str(&format!(" {v:>10}"));
                }
                // A description never starts with a digit run that would read as a value:
                // the kernel's start with a controller name.
                text.push_str(&format!("   X{desc}\n"));
                want[*class] += values[cpu];
            }
            text.push_str("ERR:          7\n");
            let c = Counts::parse(&text, "", cpu).unwrap();
            proptest::prop_assert_eq!([c.timer, c.ipi, c.device, c.other], want);
            proptest::prop_assert_eq!(c.steal_ticks, None);
        }

        /// Any text at all: an answer or an error, never a panic.
        #[test]
        fn any_text_parses_or_is_refused(interrupts in "\\PC{0,400}", stat in "\\PC{0,200}", cpu in 0usize..8) {
            let _ = Counts::parse(&interrupts, &stat, cpu);
        }
    }

    #[test]
    fn a_cpu_kept_busy_takes_timer_interrupts_and_they_are_counted() {
        let cpu = crate::two_core::client_core().unwrap();
        // `0-3,6` form; "(null)" or empty when nohz_full is off.
        let nohz_full = std::fs::read_to_string("/sys/devices/system/cpu/nohz_full")
            .unwrap_or_default()
            .trim()
            .split(',')
            .any(|part| {
                let (lo, hi) = part.split_once('-').unwrap_or((part, part));
                matches!((lo.parse::<usize>(), hi.parse::<usize>()), (Ok(lo), Ok(hi)) if (lo..=hi).contains(&cpu))
            });
        let (_, interval) = crate::two_core::on_core(cpu, "tw-irq-test", || {
            around(cpu, || {
                let until = std::time::Instant::now() + Duration::from_millis(300);
                while std::time::Instant::now() < until {
                    std::hint::spin_loop();
                }
            })
        })
        .unwrap();
        let i = interval.expect("/proc/interrupts has a column for the CPU");
        assert_eq!(i.cpu, cpu);
        assert!(i.span >= Duration::from_millis(300), "{:?}", i.span);
        // The scheduler tick runs at CONFIG_HZ (100–1000) on a busy CPU, so 300 ms of spinning
        // takes at least 30 of them; a nohz_full CPU with one task may take none.
        if !nohz_full {
            assert!(
                i.counts.timer >= 10,
                "CPU {cpu} spun 300 ms and took {} timer interrupts",
                i.counts.timer
            );
        }
        assert!(i.per_second(i.counts.timer) <= 100_000.0, "{i:?}");
    }
}
