//! `cache-admin`: the command-line tool of the admin API (see
//! `cache-admin --help`).

fn main() {
    std::process::exit(cache_admin::cli::run(std::env::args_os()));
}
