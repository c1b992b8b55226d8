# The README is the directive and variable reference: every directive the
# module defines and every $ws_ variable must have a row there.
use Test::NgxWs without_module => 1;
use Test::More;

sub slurp_file { local (@ARGV, $/) = @_; <> }

my $root = repo_root();
my $readme = slurp_file("$root/README.md");
my $sources = join '', map { slurp_file($_) } glob("$root/ngx_module/*.c");

my @directives = $sources =~ /\{\s*ngx_string\("(ws_\w+)"\),\s*NGX_HTTP_\w+_CONF/g;
my @variables = $sources =~ /\{\s*ngx_string\("(ws_\w+)"\),\s*NULL,/g;

cmp_ok(scalar @directives, '>=', 10, 'directives found in the sources');
cmp_ok(scalar @variables, '>=', 7, 'variables found in the sources');

for my $d (@directives) {
    like($readme, qr/^\| `\Q$d\E[ ;]/m, "README documents directive $d");
}

for my $v (@variables) {
    like($readme, qr/`\$\Q$v\E`/, "README documents variable \$$v");
}

done_testing();
