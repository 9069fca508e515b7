fn main() {
    build_info::emit();
}
