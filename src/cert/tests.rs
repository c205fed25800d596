use super::*;

#[test]
fn every_automated_scenario_passes_against_the_simulator() {
    for s in scenarios() {
        let r = run(&s, false);
        if s.run.is_some() {
            assert_eq!(r.outcome, Outcome::Pass, "{}: {:#?}", s.name, r.lines);
            assert!(r.checks.iter().all(|c| c.ok));
        } else {
            assert_eq!(r.outcome, Outcome::Skipped("not yet automated".into()));
        }
    }
}

#[test]
fn break_fails_exactly_that_scenario_naming_message_and_field() {
    for s in scenarios().into_iter().filter(|s| s.run.is_some()) {
        let r = run(&s, true);
        let (t, field) = s.breaks;
        let msg = message_name(t);
        match r.outcome {
            Outcome::Fail(why) => assert!(
                why.contains(msg) && why.contains(field),
                "{}: {why} names neither {msg} nor {field}",
                s.name
            ),
            o => panic!("{}: broken but {o:?}", s.name),
        }
    }
}

#[test]
fn render_prints_the_message_name_and_set_fields() {
    let mut ctx = Ctx::new(None);
    ctx.connect(ConnectMode::NewUuid).unwrap();
    assert!(ctx.lines[0].text.starts_with("Negotiate500 "));
    assert!(ctx.lines[0].text.contains("Firm=007"), "{}", ctx.lines[0].text);
}
