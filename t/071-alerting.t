# The Prometheus alerting rules and the Grafana dashboard of
# conf_examples/: the rules pass promtool's own checks and unit tests (on
# series recorded as Prometheus would scrape them), those tests fail when
# a threshold moves, and every metric, and every label the rules select
# on, that the rules and the dashboard name exists in the /metrics of a
# real NGINX.
use Test::NgxWs;
use Test::More;
use JSON::PP;
use File::Temp qw(tempdir);
use File::Copy qw(copy);

my $dir = repo_root() . '/conf_examples/prometheus';
my $dashboard_file = repo_root() . '/conf_examples/grafana/ngx_ws.json';
my $promtool = `command -v promtool 2>/dev/null` =~ s/\s+$//r;

SKIP: {
    skip 'promtool not installed (Debian package prometheus, make deps)', 5 unless $promtool;

    my $out = `cd $dir && promtool check rules ws_alerts.yml 2>&1`;
    is($?, 0, 'promtool check rules: the rules are valid') or diag($out);
    like($out, qr/SUCCESS: (\d+) rules found/, '... and found');

    $out = `cd $dir && promtool test rules ws_alerts_test.yml 2>&1`;
    is($?, 0, 'promtool test rules: every alert fires where it should, and only there')
        or diag($out);

    # The unit tests are only worth something if they notice a change: a
    # threshold moved, and a rule that no longer keeps the instance label.
    my $tmp = tempdir(CLEANUP => 1);
    copy("$dir/ws_alerts_test.yml", "$tmp/ws_alerts_test.yml");
    my $rules = Test::NgxWs::slurp("$dir/ws_alerts.yml");
    for my $mutation ([ 'drop threshold 10% -> 50%', qr/\) > 0\.10\n/, ") > 0.50\n" ],
                      [ 'descriptors summed over the server, not per worker',
                        qr/max by \(instance, job\) \(ngx_ws_worker_descriptors /,
                        'sum by (instance, job) (ngx_ws_worker_descriptors ' ]) {
        my ($name, $re, $with) = @$mutation;
        (my $changed = $rules) =~ s/$re/$with/ or die "mutation $name did not apply\n";
        open my $fh, '>', "$tmp/ws_alerts.yml" or die $!;
        print $fh $changed;
        close $fh;
        $out = `cd $tmp && promtool test rules ws_alerts_test.yml 2>&1`;
        isnt($?, 0, "the unit tests fail with a broken rule: $name");
    }
}

# ---- the metrics of a real NGINX ----

my $port = test_port();
my $ngx = start_nginx(name => 'metrics for the rules',
    http_config => "    ws_zone alerts 1m;\n",
    config => <<'CONF');
    location /ws { ws_listen; ws_echo on; }
    location = /metrics { ws_status; }
CONF

# a session that ends, so that ngx_ws_closes_total has samples
my $ws = ws_connect(port => $port);
$ws->send_close(1000);
$ws->read_frame;
$ws->disconnect;
ok(wait_for(sub { metrics() =~ /^ngx_ws_closes_total\{/m }, 3), 'a close is counted');

sub metrics {
    return http_request(port => $port, raw => "GET /metrics HTTP/1.1\r\n"
                        . "Host: localhost\r\nConnection: close\r\n\r\n")->{body};
}

my $text = metrics();
my %type = $text =~ /^# TYPE (\w+) (\w+)$/mg;
my %labels;    # family => { label => 1 } of its samples
while ($text =~ /^(\w+)\{([^}]*)\}/mg) {
    my ($series, $set) = ($1, $2);
    (my $family = $series) =~ s/_(bucket|sum|count)$// unless $type{$series};
    $labels{$family // $series}{$_} = 1 for $set =~ /(\w+)="/g;
}
cmp_ok(scalar keys %type, '>=', 30, 'families read from /metrics');

# name (or name_bucket of a histogram) => its family in /metrics
sub family {
    my ($name) = @_;
    return $name if $type{$name};
    (my $base = $name) =~ s/_(bucket|sum|count)$//;
    return $base if $type{$base} && $type{$base} eq 'histogram';
    return undef;
}

sub check_expressions {
    my ($what, @exprs) = @_;
    my %seen;
    for my $expr (@exprs) {
        for my $name ($expr =~ /\b(ngx_ws_\w+)/g) {
            next if $seen{$name}++;
            ok(family($name), "$what: $name is in /metrics");
        }
        # label matchers: name{label="v", label=~"v"}
        while ($expr =~ /\b(ngx_ws_\w+)\{([^}]*)\}/g) {
            my ($name, $set) = ($1, $2);
            my $family = family($name) or next;
            for my $label ($set =~ /(\w+)\s*[=!]~?\s*"/g) {
                next if $label =~ /^(instance|job)$/;
                next if $seen{"$family/$label"}++;
                ok($labels{$family}{$label}, "$what: $family has the label $label");
            }
        }
        # label names the rules aggregate by
        while ($expr =~ /by \(([^)]*)\) \((?:rate\()?(ngx_ws_\w+)/g) {
            my ($by, $name) = ($1, $2);
            my $family = family($name) or next;
            for my $label (split /\s*,\s*/, $by) {
                next if $label =~ /^(instance|job|le)$/;
                next if $seen{"$family/$label"}++;
                ok($labels{$family}{$label}, "$what: $family can be grouped by $label");
            }
        }
    }
    return scalar keys %seen;
}

my $rules = Test::NgxWs::slurp("$dir/ws_alerts.yml");
my @rule_exprs;
while ($rules =~ /^\s+expr: (?:\|\n((?:\s{10}.*\n)+)|(.+)\n)/mg) {
    push @rule_exprs, $1 // $2;
}
my @alerts = $rules =~ /^\s+- alert: (\w+)/mg;
is(scalar @rule_exprs, scalar @alerts, 'one expression read per alert (' . scalar(@alerts) . ')');
cmp_ok(check_expressions('rules', @rule_exprs), '>=', 10, 'the rules name metrics');

# ---- the dashboard ----

my $dashboard = eval { decode_json(Test::NgxWs::slurp($dashboard_file)) };
ok($dashboard, 'the dashboard is valid JSON') or diag($@);
is($dashboard->{__inputs}[0]{pluginId}, 'prometheus', 'it asks for a Prometheus data source on import');
my @targets = map { @{ $_->{targets} // [] } } @{ $dashboard->{panels} // [] };
cmp_ok(scalar @targets, '>=', 15, 'panels with queries');
ok(!(grep { !$_->{expr} } @targets), 'every query has an expression');
my %ids;
ok(!(grep { $ids{$_->{id}}++ } @{ $dashboard->{panels} }), 'panel ids are unique');
cmp_ok(check_expressions('dashboard', (map { $_->{expr} } @targets),
                         $dashboard->{templating}{list}[0]{definition}),
       '>=', 15, 'the dashboard names metrics');

check_logs($ngx);
done_testing();
