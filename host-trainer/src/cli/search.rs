//! `host-trainer search`: the best network within a board's budget (see [`crate::search`]).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::ValueEnum;
use nn_core::{LayerSpec, ModelKind};

use super::options::{self, FitArgs};
use crate::boards::{BOARDS, Board};
use crate::cost::{self, Calibration};
use crate::data::Table;
use crate::error::Error;
use crate::export::{self, Golden, ModelNames};
use crate::network::DynNetwork;
use crate::output;
use crate::plot::{ParetoPoint, pareto_svg};
use crate::quantize::{QPredictor, quantize};
use crate::rng::Rng;
use crate::search::{self, Budget, Evaluated, Space, Training};
use crate::split::Splits;

/// The kinds of `--kind`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum KindArg {
    F32,
    Int8,
    Both,
}

impl KindArg {
    fn kinds(self) -> Vec<ModelKind> {
        match self {
            KindArg::F32 => vec![ModelKind::F32],
            KindArg::Int8 => vec![ModelKind::Int8],
            KindArg::Both => vec![ModelKind::F32, ModelKind::Int8],
        }
    }
}

/// `search`: the options of `train` (but `--layers`), the board and its budget.
#[derive(Debug, clap::Args)]
pub(super) struct SearchArgs {
    #[command(flatten)]
    fit: FitArgs,
    /// The board the network is for (its core sets the cost; its flash region, RAM and
    /// run-time capacity bound the search).
    #[arg(long, value_parser = BOARDS.map(|b| b.name))]
    board: String,
    /// Most instructions per inference on the board (as its BENCH line counts them).
    #[arg(long, value_name = "N")]
    max_insns: Option<u64>,
    /// Most bytes of the weight file (default: the board's model region).
    #[arg(long, value_name = "BYTES")]
    max_flash: Option<usize>,
    /// Most bytes of RAM an inference takes: activation buffers and stack (default: the
    /// board's RAM).
    #[arg(long, value_name = "BYTES")]
    max_ram: Option<usize>,
    /// Which weight files to consider: f32, int8 (ReLU or linear hidden layers) or both.
    #[arg(long, value_enum, default_value = "both")]
    kind: KindArg,
    /// The output layer, UNITS:ACTIVATION (default: from the target column: 1:sigmoid for
    /// labels 0/1, K:softmax for K classes, else 1:linear).
    #[arg(long, value_name = "UNITS:ACTIVATION")]
    output: Option<String>,
    /// Most hidden layers.
    #[arg(long, default_value_t = 3, value_name = "N")]
    max_depth: usize,
    /// Seconds to spend: no candidate starts after that (those started finish).
    #[arg(
        long,
        default_value_t = 60.0,
        value_name = "SECONDS",
        allow_negative_numbers = true
    )]
    time: f64,
    /// Most candidates to evaluate (the first N of the seed's order): with it, the result
    /// does not depend on the machine's speed.
    #[arg(long, value_name = "N", value_parser = super::at_least_one, allow_negative_numbers = true)]
    trials: Option<usize>,
    /// Test vectors stored in the file, from the validation split.
    #[arg(long, default_value_t = 8, value_parser = super::whole_number, allow_negative_numbers = true)]
    golden: usize,
    /// Model name stored in the file (default: the output file's stem).
    #[arg(long)]
    name: Option<String>,
    /// The weight file to write (and BEST.pareto.svg beside it).
    #[arg(long)]
    out: PathBuf,
    /// Print only the result table.
    #[arg(long)]
    quiet: bool,
}

/// The validation share when `--val-split` is not given: the score needs held-out rows.
const DEFAULT_VAL_SHARE: f32 = 0.2;

/// Most distinct whole-number labels a target column may have to be taken for classes.
const MOST_CLASSES: usize = 32;

pub(super) fn search(args: SearchArgs) -> Result<(), Error> {
    options::check_fit_options(&args.fit)?;
    if !(args.time.is_finite() && args.time > 0.0) {
        return Err(Error::Config(format!(
            "--time must be a number of seconds above 0, not {}",
            args.time
        )));
    }
    if args.max_depth >= nn_core::MAX_LAYERS {
        return Err(Error::Config(format!(
            "--max-depth is 0 to {} (a weight file holds at most {} layers), not {}",
            nn_core::MAX_LAYERS - 1,
            nn_core::MAX_LAYERS,
            args.max_depth
        )));
    }
    let board = crate::boards::board(&args.board)
        .ok_or_else(|| Error::Config(format!("unknown board '{}'", args.board)))?;
    let svg_path = export::sibling(&args.out, "pareto.svg");
    output::check(&[&args.fit.data], &[&args.out, &svg_path])?;
    let budget = Budget {
        instructions: args.max_insns,
        flash_bytes: Some(
            args.max_flash
                .unwrap_or(board.model_region_bytes)
                .min(board.model_region_bytes),
        ),
        ram_bytes: Some(args.max_ram.unwrap_or(board.ram_bytes).min(board.ram_bytes)),
    };
    let quiet = args.quiet;
    let output_layer = match &args.output {
        Some(spec) => spec.clone(),
        None => {
            let (spec, why) = infer_output(&args.fit)?;
            if !quiet {
                eprintln!("output layer {spec} ({why}; --output to choose another)");
            }
            spec
        }
    };
    let options::Problem { raw, specs, config } = options::read_problem(&args.fit, &output_layer, quiet)?;
    let [output] = specs.as_slice() else {
        return Err(Error::Config(format!(
            "--output is one layer, UNITS:ACTIVATION (e.g. 10:softmax), not '{output_layer}'"
        )));
    };
    if nn_core::view::widest_of(&specs) > board.run_time_capacity {
        return Err(Error::Config(format!(
            "{}: the network's inputs ({}) and outputs ({}) must each fit the firmware's run-time path on {}, \
             at most {} units a layer (fewer columns, e.g. with --ignore, or a firmware built with a larger capacity)",
            args.fit.data.display(),
            output.inputs,
            output.outputs,
            board.name,
            board.run_time_capacity
        )));
    }
    let val_share = if args.fit.val_split > 0.0 {
        args.fit.val_split
    } else {
        DEFAULT_VAL_SHARE
    };
    let splits = Splits::of(&raw, val_share, args.fit.normalize, &mut Rng::new(args.fit.seed));
    if splits.val.is_empty() || splits.train.is_empty() {
        return Err(Error::Config(format!(
            "{} has {} rows: too few to hold out a validation split to score networks on",
            args.fit.data.display(),
            raw.len()
        )));
    }
    let name = super::model_name(args.name.as_deref(), &args.out);
    let names = ModelNames::of(&raw, &args.fit.target);
    let vectors = args.golden.min(splits.raw_val.len());
    let sizing = splits.train.select(&[0]);
    let file_bytes = |specs: &[LayerSpec], kind: ModelKind| -> Result<usize, Error> {
        let net = DynNetwork::new(specs.to_vec())?;
        let (inputs, outputs) = (net.inputs(), net.outputs());
        let golden = Golden {
            inputs: vec![0.0; vectors * inputs],
            outputs: vec![0.0; vectors * outputs],
        };
        let scaling = splits.scaling.as_ref();
        let bytes = if kind == ModelKind::Int8 {
            export::encode_int8_model(
                &quantize(&net, &sizing)?,
                &name,
                scaling,
                &golden,
                Some(&names),
                &args.out,
            )?
        } else {
            export::encode_model(&net, &name, scaling, &golden, Some(&names), &args.out)?
        };
        Ok(bytes.len())
    };
    let space = Space {
        max_depth: args.max_depth,
        ..Space::up_to(board.run_time_capacity, args.kind.kinds())
    };
    let calibrations: Vec<&Calibration> = space
        .kinds
        .iter()
        .filter_map(|&kind| cost::calibration(board.core, kind))
        .collect();
    let shapes = space.shapes(output.inputs, (output.outputs, output.activation));
    let shape_count = shapes.len();
    let mut candidates = search::candidates(
        &space,
        shapes,
        &calibrations,
        &budget,
        &file_bytes,
        &mut Rng::new(args.fit.seed ^ 0x5EA2_C400),
    )?;
    if candidates.is_empty() {
        return Err(Error::Config(format!(
            "no network of the search space fits the budget on {} ({}): the smallest, the output \
             layer alone ({} inputs, {output_layer}), is predicted at {}; raise the budget",
            board.name,
            describe_budget(&budget),
            output.inputs,
            describe_smallest(&calibrations, output, &file_bytes)?
        )));
    }
    let planned = candidates.len();
    if let Some(trials) = args.trials {
        candidates.truncate(trials);
    }
    if !quiet {
        describe_plan(&args, &space, &board, &budget, shape_count, planned, &splits);
        describe_calibrations(&calibrations);
        eprintln!("training: {}", options::describe_training(&config));
    }
    let training = Training {
        train: &splits.train,
        val: &splits.val,
        config: &config,
        dropout: args.fit.dropout.unwrap_or(0.0),
        init: args.fit.init.into(),
        seed: args.fit.seed,
    };
    let started = Instant::now();
    let deadline = Duration::from_secs_f64(args.time);
    let progress = SearchProgress::new(candidates.len(), quiet);
    let workers = args.fit.threads.unwrap_or(2);
    let results = search::run(
        &candidates,
        &training,
        workers,
        &|| started.elapsed() >= deadline,
        &|done, evaluated| progress.update(done, evaluated),
    )?;
    progress.finish();
    let evaluated = results
        .iter()
        .map(|r| r.index)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let best = search::best(&results).ok_or_else(|| Error::Config("no candidate was evaluated".into()))?;
    let front = search::pareto_front(&results);
    print_table(&results, &front, best, &board);
    let chosen = &results[best];
    let model = encode_best(chosen, &splits, &name, &names, vectors, args.fit.seed, &args)?;
    let points: Vec<ParetoPoint> = results
        .iter()
        .enumerate()
        .map(|(i, r)| ParetoPoint {
            instructions: r.cost.instructions as f64,
            score: r.score.value(),
            on_front: front.contains(&i),
            chosen: i == best,
            int8: r.kind == ModelKind::Int8,
        })
        .collect();
    let title = format!("{name}: {} networks on {}", results.len(), board.name);
    let svg = pareto_svg(
        &title,
        score_name(chosen),
        &points,
        args.max_insns.map(|m| m as f64),
    );
    export::write_all_atomically(&[(args.out.clone(), model), (svg_path.clone(), svg.into_bytes())])?;
    let calibration = calibrations.iter().find(|c| c.kind == chosen.kind);
    println!(
        "chosen: {} {} ({} {:.4} on {} validation rows), predicted {} instructions per inference on {} \
         (the model's error on held-out shapes: mean {:.1}%, max {:.1}%), {} bytes of flash, {} bytes of RAM",
        chosen.kind.name(),
        layer_list(&chosen.specs),
        score_name(chosen),
        chosen.score.value(),
        splits.val.len(),
        chosen.cost.instructions,
        board.name,
        calibration.map_or(0.0, |c| 100.0 * c.held_out.mean),
        calibration.map_or(0.0, |c| 100.0 * c.held_out.max),
        chosen.cost.flash_bytes,
        chosen.cost.ram_bytes
    );
    let stopped = if evaluated < candidates.len() {
        format!(
            " (stopped by --time after {:.0} s: --trials {evaluated} gives this result on any machine)",
            started.elapsed().as_secs_f64()
        )
    } else {
        String::new()
    };
    println!("evaluated {evaluated} of {planned} networks within the budget{stopped}");
    println!("wrote {} and {}", args.out.display(), svg_path.display());
    Ok(())
}

/// The output layer a target column calls for, and why: text labels or whole numbers from 0
/// with at most [`MOST_CLASSES`] values are classes (two: one sigmoid unit), else a number.
fn infer_output(fit: &FitArgs) -> Result<(String, String), Error> {
    let table = Table::read_labelled_csv(&fit.data, &fit.target)?;
    let column = table.column(&fit.target)?;
    let classes = match &table.text {
        Some((c, text)) if *c == column && text.iter().any(|t| t.parse::<f32>().is_err()) => {
            let mut names: Vec<&String> = text.iter().collect();
            names.sort();
            names.dedup();
            Some(names.len())
        }
        _ => {
            let values: Vec<f32> = (0..table.rows()).map(|r| table.get(r, column)).collect();
            let whole = values.iter().all(|v| *v >= 0.0 && v.fract() == 0.0);
            let most = values.iter().copied().fold(0.0f32, f32::max) as usize;
            (whole && most < MOST_CLASSES).then_some(most + 1)
        }
    };
    Ok(match classes {
        Some(k) if k <= 2 => (
            "1:sigmoid".into(),
            format!("column {} holds two classes", fit.target),
        ),
        Some(k) => (
            format!("{k}:softmax"),
            format!("column {} holds {k} classes", fit.target),
        ),
        None => ("1:linear".into(), format!("column {} holds numbers", fit.target)),
    })
}

fn describe_budget(budget: &Budget) -> String {
    let mut parts = Vec::new();
    if let Some(n) = budget.instructions {
        parts.push(format!("{n} instructions"));
    }
    if let Some(n) = budget.flash_bytes {
        parts.push(format!("{n} bytes of flash"));
    }
    if let Some(n) = budget.ram_bytes {
        parts.push(format!("{n} bytes of RAM"));
    }
    parts.join(", ")
}

/// What the output layer alone costs, for the message that nothing fits.
fn describe_smallest(
    calibrations: &[&Calibration],
    output: &LayerSpec,
    file_bytes: &search::FileBytes<'_>,
) -> Result<String, Error> {
    let mut parts = Vec::new();
    for calibration in calibrations {
        let specs = [*output];
        let cost = cost::Cost::of(calibration, &specs, file_bytes(&specs, calibration.kind)?);
        parts.push(format!(
            "{} {} instructions ({:.0} with the model's {:.1}% margin), {} bytes of flash, {} bytes of RAM",
            calibration.kind.name(),
            cost.instructions,
            cost.instructions as f64 * (1.0 + calibration.held_out.max),
            100.0 * calibration.held_out.max,
            cost.flash_bytes,
            cost.ram_bytes
        ));
    }
    Ok(parts.join("; "))
}

fn describe_plan(
    args: &SearchArgs,
    space: &Space,
    board: &Board,
    budget: &Budget,
    shapes: usize,
    planned: usize,
    splits: &Splits,
) {
    eprintln!(
        "board {} ({}, {}): budget {}",
        board.name,
        board.description,
        board.core.name(),
        describe_budget(budget)
    );
    eprintln!(
        "{planned} of {shapes} networks (0 to {} hidden layers, {} to {} units, {}) fit; \
         scoring on {} validation rows, {} training; at most {} s{}",
        space.max_depth,
        space.widths.first().copied().unwrap_or(0),
        space.widths.last().copied().unwrap_or(0),
        space
            .activations
            .iter()
            .map(|a| a.name())
            .collect::<Vec<_>>()
            .join("/"),
        splits.val.len(),
        splits.train.len(),
        args.time,
        args.trials
            .map(|t| format!(", at most {t} networks"))
            .unwrap_or_default()
    );
}

/// What the cost model's predictions are worth, kind by kind.
fn describe_calibrations(calibrations: &[&Calibration]) {
    for c in calibrations {
        eprintln!(
            "  {} instructions predicted by the cost model (held-out shapes: mean error {:.1}%, {:.0}% within 10%, \
             max {:.1}%, kept as margin)",
            c.kind.name(),
            100.0 * c.held_out.mean,
            100.0 * c.held_out.within_10_percent,
            100.0 * c.held_out.max
        );
    }
}

/// `64-8 relu-10 softmax`, as every command prints a network.
fn layer_list(specs: &[LayerSpec]) -> String {
    nn_core::LayerList::of(specs)
        .map(|l| l.to_string())
        .unwrap_or_default()
}

fn score_name(result: &Evaluated) -> &'static str {
    if result.score.accuracy.is_some() {
        "accuracy"
    } else {
        "mse"
    }
}

/// The Pareto front, one network per line, in order of instructions; the chosen one marked.
fn print_table(results: &[Evaluated], front: &[usize], best: usize, board: &Board) {
    let metric = results.get(best).map_or("score", score_name);
    println!(
        "Pareto front on {} ({} of {} evaluated):",
        board.name,
        front.len(),
        results.len()
    );
    println!(
        "  {:<5} {:<40} {:>9} {:>12} {:>10} {:>9}",
        "kind", "layers", metric, "insns/inf", "flash B", "RAM B"
    );
    for &i in front {
        let r = &results[i];
        println!(
            "{} {:<5} {:<40} {:>9.4} {:>12} {:>10} {:>9}",
            if i == best { "*" } else { " " },
            r.kind.name(),
            layer_list(&r.specs),
            r.score.value(),
            r.cost.instructions,
            r.cost.flash_bytes,
            r.cost.ram_bytes
        );
    }
}

/// The chosen network's weight file, with test vectors from the validation split computed
/// by nn-core's forward of its kind.
fn encode_best(
    chosen: &Evaluated,
    splits: &Splits,
    name: &str,
    names: &ModelNames,
    vectors: usize,
    seed: u64,
    args: &SearchArgs,
) -> Result<Vec<u8>, Error> {
    let scaling = splits.scaling.as_ref();
    match &chosen.qnet {
        Some(qnet) => {
            let model = qnet.model();
            let mut predictor = QPredictor::new(&model);
            let golden = Golden::from_samples_with(scaling, &splits.raw_val, vectors, seed, |x| {
                predictor.predict(&model, x).to_vec()
            });
            export::encode_int8_model(qnet, name, scaling, &golden, Some(names), &args.out)
        }
        None => {
            let golden = Golden::from_samples(&chosen.net, scaling, &splits.raw_val, vectors, seed);
            export::encode_model(&chosen.net, name, scaling, &golden, Some(names), &args.out)
        }
    }
}

/// The search's progress: a bar on a terminal, a line every tenth of the way otherwise.
struct SearchProgress {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
    total: usize,
    best: Mutex<Option<(f64, bool, String)>>,
}

impl SearchProgress {
    fn new(total: usize, quiet: bool) -> SearchProgress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            let style =
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} networks {msg} [{elapsed}]")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        SearchProgress {
            bar,
            quiet,
            total,
            best: Mutex::new(None),
        }
    }

    fn update(&self, done: usize, evaluated: &[Evaluated]) {
        let mut best = self
            .best
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for e in evaluated {
            let higher_is_better = e.score.accuracy.is_some();
            let value = e.score.value();
            let improves = best
                .as_ref()
                .is_none_or(|(b, _, _)| if higher_is_better { value > *b } else { value < *b });
            if improves {
                *best = Some((
                    value,
                    higher_is_better,
                    format!("{} {}", e.kind.name(), layer_list(&e.specs)),
                ));
            }
        }
        let message = best
            .as_ref()
            .map(|(v, _, what)| format!("best {v:.4} ({what})"))
            .unwrap_or_default();
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
            bar.set_message(message);
        } else if !self.quiet && (done.is_multiple_of(self.total.div_ceil(10).max(1)) || done == 1) {
            eprintln!("evaluated {done} of {}, {message}", self.total);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
