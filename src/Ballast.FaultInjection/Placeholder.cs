namespace Ballast.FaultInjection;
