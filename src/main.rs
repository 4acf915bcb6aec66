fn main() {
    println!("stowage");
}
