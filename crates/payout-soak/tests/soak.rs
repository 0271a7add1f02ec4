//! The soak of issue 16, reduced to 100 calls per provider so it runs in every `cargo test`;
//! `PAYOUT_SOAK_CALLS=1000` (what `cargo xtask soak` sets) runs the full version.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_provider_survives_random_faults_without_paying_twice_or_losing_a_payout() {
    let report = payout_soak::run(payout_soak::calls_from_env(100)).await;
    println!("{}", report.to_markdown());
    assert_eq!(report.providers.len(), 5);
    for p in &report.providers {
        assert_eq!(p.calls, report.calls, "{}: every call ended", p.provider);
        let injected: usize = p.faults.iter().map(|(_, n)| n).sum();
        assert!(injected > 0, "{}: faults were injected", p.provider);
    }
    let problems = report.problems();
    assert!(problems.is_empty(), "{problems:#?}");
}
