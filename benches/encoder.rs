//! Native encoder timing: one text of 8, 32 and 128 word pieces, and a batch of
//! 16 texts of 32, with the real int8 bundle (models/build/, made by
//! scripts/setup.sh). `cargo bench --bench encoder`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use localrec::Encoder;

const SOURCE: &str = "Miami Connection is a 1987 independent martial arts action film about a \
    band of orphans who fight a gang of ninjas who have taken over the drug trade in Orlando. \
    It was directed by Richard Park and stars Y. K. Kim, a taekwondo master who also wrote and \
    produced the film. The film was a box office failure on release but found a cult following \
    after it was restored and re-released in 2012 by the Alamo Drafthouse, which bought a print \
    on eBay. Critics praised its earnest charm, its music and its sincerity, while mocking its \
    acting, fight scenes and plot, and it has since become a staple of midnight screenings and \
    bad-movie nights in cinemas across the United States and Europe, alongside other films.";

/// The longest prefix (in words) of SOURCE, repeated as needed, with exactly `tokens` word pieces.
fn text_with_tokens(encoder: &Encoder, tokens: usize) -> String {
    let words: Vec<&str> = SOURCE.split_whitespace().cycle().take(400).collect();
    let count = |n: usize| {
        encoder
            .tokenizer()
            .encode(&words[..n].join(" "))
            .map(|t| t.len())
            .unwrap_or(0)
    };
    let n = (1..words.len())
        .take_while(|&n| count(n) <= tokens)
        .last()
        .unwrap_or(1);
    words[..n].join(" ")
}

fn bench(c: &mut Criterion) {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/build/minilm-l6-v2-int8.lrm");
    let bytes = std::fs::read(&path).expect("run scripts/setup.sh to build the model bundle");
    let encoder = Encoder::from_bytes(&bytes).expect("valid bundle");

    let mut group = c.benchmark_group("embed_one");
    for tokens in [8, 32, 128] {
        let text = text_with_tokens(&encoder, tokens);
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::from_parameter(tokens), &text, |b, t| {
            b.iter(|| encoder.embed(t).expect("embed"))
        });
    }
    group.finish();

    let text = text_with_tokens(&encoder, 32);
    let batch: Vec<&str> = vec![text.as_str(); 16];
    let mut group = c.benchmark_group("embed_batch16");
    group.throughput(Throughput::Elements(16));
    group.bench_function("32", |b| {
        b.iter(|| encoder.embed_batch(&batch).expect("embed"))
    });
    group.finish();

    // The same 32-token text through the f32 bundle (candle's f32 GEMM): the
    // int8 forward must beat it.
    let f32_path = path.with_file_name("minilm-l6-v2-f32.lrm");
    if let Ok(f32_bytes) = std::fs::read(&f32_path) {
        let f32_encoder = Encoder::from_bytes(&f32_bytes).expect("valid f32 bundle");
        let text = text_with_tokens(&encoder, 32);
        let mut group = c.benchmark_group("embed_one_f32");
        group.bench_function("32", |b| {
            b.iter(|| f32_encoder.embed(&text).expect("embed"))
        });
        group.finish();
    }

    c.bench_function("load_int8_bundle", |b| {
        b.iter(|| Encoder::from_bytes(&bytes).expect("load"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
