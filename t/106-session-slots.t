# Sessions live in fixed-size slots packed in areas of their own, outside
# the heap (ngx_http_ws_slots.c): idle connections pay for their sessions
# only, not for heap pages the handshakes' freed blocks leave half-used.
# Checked here: slots freed out of order are taken again without mixing
# up sessions (every subscriber gets each publish exactly once, across
# areas), and the sessions' memory is where the allocator puts it (outside
# the heap), which malloc would not do.
use Test::NgxWs;
use Test::More;

my $port = test_port();
# make asan sets this: the sessions are the heap's then, so ASan sees them
my $sanitized = $ENV{NGX_WS_SANITIZER_LOGS};

sub post {
    my ($uri, $body) = @_;
    return http_request(port => $port, raw =>
        "POST $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        . "Content-Type: text/plain\r\nContent-Length: " . length($body)
        . "\r\n\r\n$body");
}

sub get {
    my ($uri) = @_;
    return http_request(port => $port, raw =>
        "GET $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
}

# Resident kilobytes of the worker's anonymous mappings other than the
# heap and the stack (where mmap()ed memory is).
sub anon_rss_kb {
    my ($pid) = @_;
    my ($kb, $anon) = (0, 0);
    for (split /\n/, Test::NgxWs::slurp("/proc/$pid/smaps")) {
        if (/^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ (\d+)\s*(\S*)$/) {
            $anon = $1 == 0 && $2 eq '';
        } elsif ($anon && /^Rss:\s+(\d+) kB/) {
            $kb += $1;
        }
    }
    return $kb;
}

# Every client reads one text message, the given one: how many did.
sub all_got {
    my ($clients, $payload) = @_;
    my $got = 0;
    for my $c (@$clients) {
        my $m = eval { $c->read_message(5) };
        $got++ if $m && $m->{op} eq 'text' && $m->{payload} eq $payload;
    }
    return $got;
}

my $ngx = start_nginx(name => 'session slots', http_config => <<'CONF',
    ws_zone test 4m;
    access_log off;
CONF
                      config => <<'CONF');
    location ~ ^/sub/(?<ch>\w+)$ { ws_listen; ws_subscribe room:$ch; }
    location ~ ^/pub/(?<ch>\w+)$ { ws_publisher room:$ch; }
CONF
my ($worker) = $ngx->workers;

{
    my $name = '500 sessions, then 250 closed out of order';
    my $warm = ws_connect(uri => '/sub/warm');
    my $before = anon_rss_kb($worker);
    # about 190 sessions to an area: three areas
    my @clients = map { ws_connect(uri => '/sub/a') } 1 .. 500;
    like(post('/pub/a', 'one')->{body}, qr/"subscribers":500\b/,
         "$name: 500 subscribers");
    is(all_got(\@clients, 'one'), 500, "$name: every one got the publish");

    my $grown = anon_rss_kb($worker) - $before;
    SKIP: {
        skip 'sessions are heap blocks under AddressSanitizer', 1
            if $sanitized;
        # 500 x 336 bytes is 164 KiB; from malloc none of it is here
        cmp_ok($grown, '>=', 130,
               "$name: the sessions are outside the heap ($grown KiB)");
    }

    # every other one, from the last: frees in each area, none emptied
    my @kept;
    for my $i (reverse 0 .. $#clients) {
        if ($i % 2) {
            $clients[$i]->send_close(1000);
            $clients[$i]->expect('close 1000', "$name: closed");
        } else {
            unshift @kept, $clients[$i];
        }
    }
    ok(wait_for(sub { get('/pub/a')->{body} =~ /"subscribers":250\b/ }, 5),
       "$name: 250 left subscribed");

    # the freed slots are taken again by new sessions
    push @kept, map { ws_connect(uri => '/sub/a') } 1 .. 300;
    like(post('/pub/a', 'two')->{body}, qr/"subscribers":550\b/,
         "$name: 550 subscribers after 300 more");
    is(all_got(\@kept, 'two'), 550,
       "$name: each got the next publish exactly once");
    my $extra = 0;
    for my $c (@kept[0 .. 49]) {
        $extra++ if eval { $c->read_message(0.05) };
    }
    is($extra, 0, "$name: and nothing else");

    $_->send_close(1000) for @kept;
    $_->expect('close 1000', "$name: closed") for @kept;
    ok(wait_for(sub { get('/pub/a')->{body} =~ /"subscribers":0\b/ }, 5),
       "$name: all gone");

    # empty areas are unmapped, but the last one
    SKIP: {
        skip 'sessions are heap blocks under AddressSanitizer', 1
            if $sanitized;
        my $left = anon_rss_kb($worker) - $before;
        # 550 at most: three areas, of which one (up to 64 KiB) stays
        cmp_ok($grown - $left, '>=', 64,
               "$name: their areas went back ($grown -> $left KiB)");
    }

    my $again = ws_connect(uri => '/sub/a');
    like(post('/pub/a', 'three')->{body}, qr/"subscribers":1\b/,
         "$name: a new session after all that");
    is(all_got([$again], 'three'), 1, "$name: gets the publish");
    $again->send_close(1000);
    $again->expect('close 1000', "$name: closed");
    $warm->send_close(1000);
    $warm->expect('close 1000', "$name: warm-up closed");
}

check_logs($ngx);
done_testing();
