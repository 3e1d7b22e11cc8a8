//! A binary that forgot `#[global_allocator]`: the readings refuse rather than report zero.

#[test]
#[should_panic(expected = "is not the global allocator of this binary")]
fn total_refuses_without_the_allocator() {
    tickwire_testutil::total();
}

#[test]
#[should_panic(expected = "is not the global allocator of this binary")]
fn measure_refuses_without_the_allocator() {
    let _ = tickwire_testutil::measure(|| Vec::<u8>::with_capacity(8));
}
