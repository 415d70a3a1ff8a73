namespace Ballast.Tests;

public sealed class ServerEndPointTests
{
    [Theory]
    [InlineData("127.0.0.1", "127.0.0.1", 11211, 1)]
    [InlineData("cache-1:11212", "cache-1", 11212, 1)]
    [InlineData(" 10.0.0.1:11211:3 ", "10.0.0.1", 11211, 3)]
    public void Parse_reads_host_port_and_weight(string text, string host, int port, int weight)
    {
        var endPoint = ServerEndPoint.Parse(text);
        Assert.Equal(host, endPoint.Host);
        Assert.Equal(port, endPoint.Port);
        Assert.Equal(weight, endPoint.Weight);
    }

    [Theory]
    [InlineData("host:0")]
    [InlineData("host:65536")]
    [InlineData("host:abc")]
    [InlineData("host:11211:0")]
    [InlineData(":11211")]
    [InlineData("a:1:2:3")]
    public void Parse_rejects_malformed_entries_naming_them(string text)
    {
        var error = Assert.Throws<FormatException>(() => ServerEndPoint.Parse(text));
        Assert.Contains(text, error.Message, StringComparison.Ordinal);
    }
}
